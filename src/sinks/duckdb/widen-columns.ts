import { describeLoss, lossyCasts } from "../../engine/cast-loss.js";
import { ident, literal, qualified } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import type { SinkContext } from "../sink.js";

/** Integer types, narrowest first, with the decimal digits each holds. */
const INTEGERS: readonly (readonly [string, number])[] = [
  ["TINYINT", 3],
  ["SMALLINT", 5],
  ["INTEGER", 10],
  ["BIGINT", 19],
  ["HUGEINT", 39],
];
const DECIMAL = /^DECIMAL\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

/**
 * The type a table column of type `table` takes to hold a batch column of type `batch` without
 * loss, when that is a widening: a wider integer (INTEGER -> BIGINT), an integer or FLOAT to DOUBLE,
 * a DECIMAL with more integer digits or scale (an integer column counts as DECIMAL(digits, 0)).
 * Undefined when the types are equal or no widening holds every value of both.
 */
export function widenedType(table: string, batch: string): string | undefined {
  const t = table.trim().toUpperCase();
  const b = batch.trim().toUpperCase();
  if (t === b) return undefined;
  const ti = INTEGERS.findIndex(([n]) => n === t);
  const bi = INTEGERS.findIndex(([n]) => n === b);
  if (ti >= 0 && bi > ti) return b;
  if (b === "DOUBLE" && (t === "FLOAT" || (ti >= 0 && ti <= 3))) return "DOUBLE";
  const bd = DECIMAL.exec(b);
  const td = DECIMAL.exec(t) ?? (ti >= 0 && ti <= 3 ? ["", String(INTEGERS[ti]![1]), "0"] : undefined);
  if (!bd || !td) return undefined;
  const scale = Math.max(Number(td[2]), Number(bd[2]));
  const digits = Math.max(Number(td[1]) - Number(td[2]), Number(bd[1]) - Number(bd[2]));
  if (digits + scale > 38) return undefined;
  const wide = `DECIMAL(${digits + scale},${scale})`;
  return wide === t.replaceAll(" ", "") ? undefined : wide;
}

/** JSON (or NULL): what DuckDB's JSON reader gave a key null in every record it saw. */
function isUndecided(type: string): boolean {
  const t = type.trim().toUpperCase();
  return t === "JSON" || t === "NULL" || t === '"NULL"';
}

/**
 * append/upsert, inside the write's transaction: makes the table's columns hold the batch's types
 * before the INSERT. A batch column that is NULL in every row changes nothing (NULL casts to any
 * type); a table column left undecided (JSON, NULL in every row) takes the batch's type; a
 * lossless widening (widenedType) is applied; any other difference is cast by the INSERT, and a
 * value that would not survive that cast is an error naming the column, both types and a value.
 */
export async function widenTableColumns(
  ctx: SinkContext,
  alias: string,
  schema: string,
  table: string,
  relation: string,
): Promise<void> {
  const name = qualified(alias, schema, table);
  const have = new Map((await ctx.engine.columns(name)).map((c) => [c.name, c.type]));
  const differing = (await ctx.engine.columns(relation)).filter(
    (c) => have.has(c.name) && have.get(c.name)!.toUpperCase() !== c.type.toUpperCase(),
  );
  if (differing.length === 0) return;
  const inBatch = await nonNullCounts(
    ctx,
    relation,
    differing.map((c) => c.name),
  );
  const present = differing.filter((_, i) => inBatch[i]! > 0);
  const undecided = present.filter((c) => isUndecided(have.get(c.name)!));
  const inTable = await nonNullCounts(
    ctx,
    name,
    undecided.map((c) => c.name),
  );
  const emptyInTable = new Set(undecided.filter((_, i) => inTable[i] === 0).map((c) => c.name));
  const changes: { column: string; type: string }[] = [];
  const casts: { column: string; from: string; to: string }[] = [];
  for (const c of present) {
    const type = emptyInTable.has(c.name) ? c.type : widenedType(have.get(c.name)!, c.type);
    if (type) changes.push({ column: c.name, type });
    else casts.push({ column: c.name, from: c.type, to: have.get(c.name)! });
  }
  const losses = await lossyCasts(ctx.engine, relation, casts, "sync");
  if (losses.length > 0) {
    throw new SluiceError(
      `the batch does not fit the column types of ${schema}.${table}: ${losses.map((l) => describeLoss(l)).join("; ")}`,
      {
        component: "duckdb",
        stage: "sync",
        hint: "only lossless widenings (INTEGER -> BIGINT -> DOUBLE, DECIMAL precision up, a column NULL so far) change the table; cast the column in a transform or a contract, or alter the warehouse table by hand",
      },
    );
  }
  if (changes.length > 0) await alterColumnTypes(ctx, alias, schema, table, changes);
}

/** `count(col)` of each column of `relation`, in order. */
async function nonNullCounts(ctx: SinkContext, relation: string, columns: readonly string[]): Promise<number[]> {
  if (columns.length === 0) return [];
  const row = await ctx.engine.one<Record<string, bigint | number>>(
    `SELECT ${columns.map((c, i) => `count(${ident(c)}) AS c${i}`).join(", ")} FROM ${relation}`,
    "sync",
  );
  return columns.map((_, i) => Number(row?.[`c${i}`] ?? 0));
}

/**
 * Changes column types in the open transaction. DuckDB refuses ALTER ... TYPE on a table with an
 * index (even one dropped in the same transaction), so such a table is rebuilt with the casts and
 * its indexes are created again from their definitions.
 */
async function alterColumnTypes(
  ctx: SinkContext,
  alias: string,
  schema: string,
  table: string,
  changes: readonly { column: string; type: string }[],
): Promise<void> {
  const name = qualified(alias, schema, table);
  ctx.log.info(`duckdb sink ${schema}.${table}: widening ${changes.map((c) => `${c.column} to ${c.type}`).join(", ")}`);
  const indexes = await ctx.engine.all<{ index_name: string; sql: string }>(
    `SELECT index_name, sql FROM duckdb_indexes() WHERE database_name = ${literal(alias)} AND schema_name = ${literal(schema)} AND table_name = ${literal(table)}`,
    "sync",
  );
  if (indexes.length === 0) {
    for (const c of changes)
      await ctx.engine.run(`ALTER TABLE ${name} ALTER ${ident(c.column)} TYPE ${c.type}`, "sync");
    return;
  }
  const recreate = indexes.map((i) => indexSqlOn(i.sql, schema, table, name));
  const casts = changes.map((c) => `CAST(${ident(c.column)} AS ${c.type}) AS ${ident(c.column)}`).join(", ");
  await ctx.engine.run(`CREATE OR REPLACE TABLE ${name} AS SELECT * REPLACE (${casts}) FROM ${name}`, "sync");
  for (const sql of recreate) await ctx.engine.run(sql, "sync");
}

/**
 * An index's `CREATE INDEX` text (as duckdb_indexes() gives it: `ON schema.table(...)`, without the
 * catalog) with the table named as `target`. Throws when the text does not name the table.
 */
function indexSqlOn(sql: string, schema: string, table: string, target: string): string {
  const forms = (n: string) => [n, ident(n)];
  for (const s of forms(schema)) {
    for (const t of forms(table)) {
      const on = ` ON ${s}.${t}(`;
      const at = sql.indexOf(on);
      if (at >= 0) return `${sql.slice(0, at)} ON ${target}(${sql.slice(at + on.length)}`;
    }
  }
  throw new SluiceError(`cannot recreate the index of ${schema}.${table} defined as: ${sql}`, {
    component: "duckdb",
    stage: "sync",
    hint: "drop the index, rerun (the column is widened), then create the index again",
  });
}
