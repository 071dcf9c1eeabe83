import type { ColumnSpec } from "../config/spec.js";

/**
 * Contract types and the DuckDB types valid rows are delivered as: the one table shared by the
 * contract stage (contracts/compile-contract.ts) and the `cast` transform.
 */
export const CONTRACT_DUCKDB_TYPES = {
  string: "VARCHAR",
  integer: "BIGINT",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  timestamp: "TIMESTAMPTZ",
  date: "DATE",
  json: "JSON",
} as const satisfies Record<ColumnSpec["type"], string>;

/** The same types as `DESCRIBE` spells them (to know when no cast is needed). */
export const CONTRACT_DESCRIBED_TYPES: Readonly<Record<ColumnSpec["type"], string>> = {
  string: "VARCHAR",
  integer: "BIGINT",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  timestamp: "TIMESTAMP WITH TIME ZONE",
  date: "DATE",
  json: "JSON",
};
