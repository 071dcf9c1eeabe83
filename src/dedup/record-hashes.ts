import { ident } from "../engine/sql.js";

/**
 * The text a record hash is taken over: each value as DuckDB prints it
 * (`::VARCHAR`; timestamps in UTC, JSON as its text), NULL as U+0000, joined
 * by U+001F. Stable across runs and machines, so equal records hash equal in
 * every batch and against what the target already holds.
 */
export function hashText(columns: readonly string[]): string {
  if (columns.length === 0) return "''";
  return `concat_ws(chr(31), ${columns.map((c) => `coalesce(${ident(c)}::VARCHAR, chr(0))`).join(", ")})`;
}

/**
 * SHA-256 (lowercase hex) of `hashText(columns)`: `_composite_hash` over the
 * dedup key, `_payload_hash` over every data column (lineage, `_source_pos`
 * and the hash columns themselves excluded). Anyone can recompute them
 * outside sluice.
 */
export function sha256Of(columns: readonly string[]): string {
  return `sha256(${hashText(columns)})`;
}
