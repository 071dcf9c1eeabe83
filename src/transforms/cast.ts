import type { ColumnSpec } from "../config/spec.js";
import { CONTRACT_DUCKDB_TYPES } from "../engine/contract-types.js";
import { ident } from "../engine/sql.js";
import { firstLine, refuseSourcePos, requireColumn, transformConfigError } from "./columns.js";
import type { Transform, TransformOf } from "./transform.js";
import { handleFailures } from "./value-failures.js";

/** Contract types and the DuckDB types they are stored as (one table, shared with the contract stage). */
const CONTRACT_TYPES: Readonly<Record<ColumnSpec["type"], string>> = CONTRACT_DUCKDB_TYPES;

// Type names, parameters and nested types; never a statement separator or quote.
const TYPE_TEXT = /^[A-Za-z][A-Za-z0-9_ ,()[\]]*$/;

/**
 * `cast`: `columns: {column: type}` with a contract type (string, integer,
 * number, boolean, timestamp, date, json) or any DuckDB type.
 *
 * Uses TRY_CAST: a value that does not convert becomes NULL and, when a
 * contract is configured, is reported through a `_fail:type:<column>`
 * marker holding the original value, so the contract stage quarantines the
 * row (or fails a strict run) with rule `type` instead of losing the value.
 * Without a contract the count of such values is logged as a warning.
 * Strings cast to `timestamp` without an offset are read as UTC; use the
 * `timezone` transform for other zones.
 */
export const cast: Transform<TransformOf<"cast">> = async (ctx, input, config) => {
  const columns = await ctx.engine.columns(input);
  const names = columns.map((c) => c.name);
  const targets = new Map<string, string>();
  for (const [column, type] of Object.entries(config.columns)) {
    requireColumn(names, column, "cast.columns");
    refuseSourcePos(column, "cast.columns");
    targets.set(column, await resolveType(ctx, type, column));
  }

  const checks = [];
  const select: string[] = [];
  for (const c of columns) {
    const target = targets.get(c.name);
    if (target === undefined || sameType(c.type, target)) {
      select.push(ident(c.name));
      continue;
    }
    const col = ident(c.name);
    select.push(`TRY_CAST(${col} AS ${target}) AS ${col}`);
    checks.push({
      column: c.name,
      failed: `(${col} IS NOT NULL AND TRY_CAST(${col} AS ${target}) IS NULL)`,
      value: `CAST(${col} AS VARCHAR)`,
    });
  }
  select.push(...(await handleFailures(ctx, input, checks, "cast")));
  const out = ctx.tmpName("t_cast");
  await ctx.engine.run(`CREATE VIEW ${out} AS SELECT ${select.join(", ")} FROM ${input}`, "transform");
  return out;
};

/** The DuckDB type for a contract type or DuckDB type name; config error (exit 2) if DuckDB does not know it. */
async function resolveType(ctx: Parameters<typeof cast>[0], type: string, column: string): Promise<string> {
  const contractType = CONTRACT_TYPES[type.trim().toLowerCase() as ColumnSpec["type"]];
  if (contractType) return contractType;
  const hint = `use a contract type (${Object.keys(CONTRACT_TYPES).join(", ")}) or a DuckDB type such as DECIMAL(12,2), TIMESTAMP, VARCHAR[]`;
  if (!TYPE_TEXT.test(type)) throw transformConfigError(`cast.columns.${column}: \`${type}\` is not a type name`, hint);
  try {
    const row = await ctx.engine.one<{ t: string }>(`SELECT typeof(CAST(NULL AS ${type})) AS t`, "transform");
    return row?.t ?? type;
  } catch (err) {
    throw transformConfigError(`cast.columns.${column}: unknown type \`${type}\` (${firstLine(err)})`, hint);
  }
}

function sameType(actual: string, target: string): boolean {
  const norm = (t: string) => (t === "TIMESTAMP WITH TIME ZONE" ? "TIMESTAMPTZ" : t.toUpperCase());
  return norm(actual) === norm(target);
}
