import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import type { BatchColumn, TargetColumn } from "./pg-target.js";

/** The column every numbered batch carries: its row's position, 1..n (staging rows keep it). */
export const ROW_COLUMN = "_sluice_row";

/**
 * Numbers the batch's rows and checks them, in DuckDB and in one pass, against what the target's
 * column definitions will refuse: a string longer than `character varying(n)` / `character(n)`,
 * NULL in a NOT NULL column, a number beyond `numeric(p,s)`, `integer` or `smallint`. Each failing
 * row gets `_error`, worded as PostgreSQL words it, naming the column. Creates the table `into`
 * (the batch's columns, `_sluice_row`, `_error`) and returns how many rows failed. What the catalog
 * does not say (CHECK, unique, foreign keys, unparseable text) is left to the database.
 */
export async function numberAndCheck(
  engine: Engine,
  relation: string,
  columns: readonly BatchColumn[],
  target: readonly TargetColumn[] | undefined,
  tableLabel: string,
  into: string,
): Promise<number> {
  const byName = new Map((target ?? []).map((t) => [t.name, t]));
  const cases: string[] = [];
  for (const col of columns) {
    const t = byName.get(col.name);
    if (t) cases.push(...checksFor(col, t, tableLabel));
  }
  const error = cases.length ? `CASE ${cases.join(" ")} END` : "NULL";
  const list = columns.map((c) => ident(c.name)).join(", ");
  await engine.run(
    `CREATE TABLE ${ident(into)} AS SELECT ${list}, row_number() OVER () AS ${ROW_COLUMN}, CAST(${error} AS VARCHAR) AS _error FROM (SELECT ${list} FROM ${relation})`,
    "sink",
  );
  const row = await engine.one<{ n: bigint | number }>(
    `SELECT count(*) AS n FROM ${ident(into)} WHERE _error IS NOT NULL`,
    "sink",
  );
  return Number(row?.n ?? 0);
}

const NUMERIC_TYPES =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/;

/** `WHEN <refused> THEN <message>` clauses for one column. */
function checksFor(col: BatchColumn, t: TargetColumn, tableLabel: string): string[] {
  const c = ident(col.name);
  const where = ` (column "${col.name}")`;
  const out: string[] = [];
  if (t.notNull) {
    out.push(
      `WHEN ${c} IS NULL THEN ${literal(`null value in column "${col.name}" of relation "${tableLabel}" violates not-null constraint`)}`,
    );
  }
  const chars = /^(character varying|character)\((\d+)\)$/.exec(t.type);
  if (chars) {
    // PostgreSQL accepts a longer value whose excess characters are all spaces (and drops them).
    out.push(
      `WHEN length(rtrim(CAST(${c} AS VARCHAR), ' ')) > ${chars[2]} THEN ${literal(`value too long for type ${t.type}${where}`)}`,
    );
  }
  if (!NUMERIC_TYPES.test(col.type)) return out;
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(t.type);
  if (numeric) {
    const [p, s] = [Number(numeric[1]), Number(numeric[2])];
    out.push(
      `WHEN abs(round(CAST(${c} AS DOUBLE), ${s})) >= 1e${p - s} THEN ${literal(`numeric field overflow: a field with precision ${p}, scale ${s} must round to an absolute value less than 10^${p - s}${where}`)}`,
    );
  }
  const ints: Record<string, [string, string]> = {
    integer: ["-2147483648", "2147483647"],
    smallint: ["-32768", "32767"],
    bigint: ["-9223372036854775808", "9223372036854775807"],
  };
  const range = ints[t.type];
  if (range && !/^(TINYINT|SMALLINT|UTINYINT)/.test(col.type)) {
    const v = /^(FLOAT|DOUBLE|DECIMAL)/.test(col.type) ? `round(CAST(${c} AS DOUBLE))` : `CAST(${c} AS HUGEINT)`;
    out.push(`WHEN ${v} NOT BETWEEN ${range[0]} AND ${range[1]} THEN ${literal(`${t.type} out of range${where}`)}`);
  }
  return out;
}
