import type { Engine } from "../../engine/engine.js";
import { ident } from "../../engine/sql.js";

/**
 * Whether DuckDB's JSON reader left a column's type undecided: `JSON` (or `NULL`) is what it detects
 * for a key whose values are null in every record it looked at (or that mixes shapes it cannot unify).
 */
export function isUndecidedType(type: string): boolean {
  const t = type.trim().toUpperCase();
  return t === "JSON" || t === "NULL" || t === '"NULL"';
}

/** Whether any detected type is undecided (see isUndecidedType). */
export function hasUndecided(types: ReadonlyMap<string, string>): boolean {
  return [...types.values()].some(isUndecidedType);
}

/**
 * A column null in every row of a batch fixes no type: each undecided column of the loaded `table`
 * that holds no value becomes VARCHAR (still all NULL), which every sink casts to its table's type
 * without loss. An undecided column with values (nested values of different shapes) keeps JSON.
 * Returns the columns changed.
 */
export async function settleNullColumns(engine: Engine, table: string): Promise<string[]> {
  const undecided = (await engine.columns(table)).filter((c) => isUndecidedType(c.type)).map((c) => c.name);
  if (undecided.length === 0) return [];
  const counts = await engine.all<Record<string, bigint | number>>(
    `SELECT ${undecided.map((c, i) => `count(${ident(c)}) AS c${i}`).join(", ")} FROM ${table}`,
    "extract",
  );
  const empty = undecided.filter((_, i) => Number(counts[0]?.[`c${i}`] ?? 0) === 0);
  for (const c of empty) await engine.run(`ALTER TABLE ${table} ALTER ${ident(c)} TYPE VARCHAR`, "extract");
  return empty;
}
