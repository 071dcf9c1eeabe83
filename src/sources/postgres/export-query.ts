import { escapeIdentifier, escapeLiteral } from "pg";
import type { ColumnTransfer, PgColumn } from "./pg-types.js";

/*
 * Why filter values are literals here, not bind parameters.
 *
 * COPY takes no parameters: `COPY (SELECT ... WHERE x = $1) TO STDOUT` is
 * rejected by the server, and a temp view cannot hold parameters either.
 * The values therefore enter the SQL as literals, but never by hand:
 * node-postgres' escapeLiteral quotes them (doubling quotes, E'' form for
 * backslashes) and every literal is cast to the column's own catalog type,
 * so a value can only ever be a value of that type — never SQL. Identifiers
 * go through escapeIdentifier. A bonus over placeholders: the planner sees
 * the real values, so an incremental delta uses the (cursor, key) index
 * instead of a generic plan that scans the table.
 */

/** A scalar as configured in `where`, or read back from the watermark. */
export type FilterValue = string | number | boolean | null;

/** The watermark an incremental run continues from (SPEC section 2: state). */
export interface Watermark {
  /** The cursor value of the last exported row, in its PostgreSQL text form. */
  readonly cursor: string;
  /** Its primary key values, in key order, as text. */
  readonly key: readonly string[];
}

/** Type to cast a literal to: the column's type without length/precision (`varchar(10)` -> `character varying`). */
export function castType(col: PgColumn): string {
  return col.formatted.replace(/\(\s*-?\d+(\s*,\s*-?\d+)?\s*\)/g, "");
}

/** `'value'::type` for a value compared with `col`. */
export function typedLiteral(col: PgColumn, value: Exclude<FilterValue, null>): string {
  return `${escapeLiteral(String(value))}::${castType(col)}`;
}

/** `"col" = 'v'::type`, or `"col" IS NULL`. */
export function equalsFilter(col: PgColumn, value: FilterValue): string {
  return value === null
    ? `${escapeIdentifier(col.name)} IS NULL`
    : `${escapeIdentifier(col.name)} = ${typedLiteral(col, value)}`;
}

/** Window mode: rows whose cursor is at most `days` before `since` (the run's start). */
export function windowFilter(cursor: PgColumn, days: number, since: Date): string {
  return `${escapeIdentifier(cursor.name)} >= (${escapeLiteral(since.toISOString())}::timestamptz - interval '1 day' * ${Number(days)})`;
}

/** Text columns compare byte-wise ("C"), the order DuckDB uses to pick the next watermark. */
function ordered(col: PgColumn): string {
  return col.collatable ? `${escapeIdentifier(col.name)} COLLATE "C"` : escapeIdentifier(col.name);
}

/**
 * Incremental mode: rows after the watermark.
 *
 * With a key: `(cursor, key...) > (last cursor, last key...)`, so rows that
 * share the last cursor value are neither lost (those with a greater key are
 * read) nor repeated. Without a key: `cursor >= last` (boundary rows are
 * re-read; dedup absorbs them). With `lookback`: `cursor >= last - lookback`,
 * re-reading late-arriving rows.
 */
export function incrementalFilter(
  cursor: PgColumn,
  key: readonly PgColumn[],
  mark: Watermark,
  lookback: string | undefined,
): string {
  const last = typedLiteral(cursor, mark.cursor);
  if (lookback) {
    return `${escapeIdentifier(cursor.name)} >= (${last} - ${escapeLiteral(lookback)}::interval)`;
  }
  if (key.length === 0 || mark.key.length !== key.length) return `${ordered(cursor)} >= ${last}`;
  const left = [ordered(cursor), ...key.map(ordered)].join(", ");
  const right = [last, ...key.map((k, i) => typedLiteral(k, mark.key[i]!))].join(", ");
  return `(${left}) > (${right})`;
}

/**
 * The upper bound of a batch being finished after an interruption: rows up to and including the
 * watermark it ended at, compared as `incrementalFilter` compares (the same tuple order).
 */
export function untilFilter(cursor: PgColumn, key: readonly PgColumn[], mark: Watermark): string {
  const last = typedLiteral(cursor, mark.cursor);
  if (key.length === 0 || mark.key.length !== key.length) return `${ordered(cursor)} <= ${last}`;
  const left = [ordered(cursor), ...key.map(ordered)].join(", ");
  const right = [last, ...key.map((k, i) => typedLiteral(k, mark.key[i]!))].join(", ");
  return `(${left}) <= (${right})`;
}

/**
 * The SELECT that COPY exports: one expression per column in the text form
 * the DuckDB side reads (see columnTransfer), the filters ANDed, and an
 * optional block range (`ctid`) when the table is exported in segments.
 */
export function exportSelect(
  fromSql: string,
  transfers: readonly ColumnTransfer[],
  filters: readonly string[],
  blocks?: { readonly from: number; readonly to: number | undefined },
): string {
  const where = [...filters];
  if (blocks) {
    where.push(`ctid >= '(${blocks.from},0)'::tid`);
    if (blocks.to !== undefined) where.push(`ctid < '(${blocks.to},0)'::tid`);
  }
  const list = transfers.length ? transfers.map((t) => t.pgExpr(t.name)).join(", ") : "";
  return `SELECT ${list} FROM ${fromSql}${where.length ? ` WHERE ${where.map((w) => `(${w})`).join(" AND ")}` : ""}`;
}
