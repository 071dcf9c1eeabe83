import { ident } from "../engine/sql.js";
import { failMarker } from "../engine/system-columns.js";
import { refuseSourcePos, requireColumn } from "./columns.js";
import { loadMapping } from "./load-mapping.js";
import type { Transform, TransformOf } from "./transform.js";
import { marksFailures } from "./value-failures.js";

/**
 * `map`: translates the values of `column` through a mapping table (a file
 * or PostgreSQL, see load-mapping.ts) into `target` (default: `column`
 * itself; a new target is placed right after `column`).
 *
 * A LEFT JOIN on the key as text, in the batch's order, one output row per
 * input row (the mapping is deduplicated first). A value with no mapping is
 * kept as it was in every mode; `unmapped` says what else happens:
 * - keep: nothing.
 * - flag: a BOOLEAN column `_unmapped_<column>`, true on those rows (false
 *   elsewhere, NULL values included), written with the data.
 * - quarantine: a `_fail:unmapped:<column>` marker (see engine/system-columns.ts) so the
 *   contract stage quarantines the row, or fails a strict run, with rule
 *   `unmapped`. The contract stage reads markers only when a contract is
 *   configured and validation is not "off"; otherwise the step flags
 *   instead and warns.
 * If the mapped values and the column differ in type, the result is VARCHAR.
 */
export const map: Transform<TransformOf<"map">> = async (ctx, input, config) => {
  const columns = await ctx.engine.columns(input);
  const names = columns.map((c) => c.name);
  requireColumn(names, config.column, "map.column");
  const target = config.target ?? config.column;
  refuseSourcePos(target, "map.target");

  const mapping = await loadMapping(ctx, config.from);
  if (mapping.duplicateKeys > 0) {
    ctx.log.warn(
      `map ${config.column}: ${mapping.duplicateKeys} row(s) of ${mapping.description} repeat a key; the first row per key is used`,
    );
  }
  let mode = config.unmapped;
  if (mode === "quarantine" && !marksFailures(ctx)) {
    ctx.log.warn(
      `map ${config.column}: unmapped: quarantine needs a contract and validation on; unmapped values are flagged in _unmapped_${config.column} instead`,
    );
    mode = "flag";
  }

  const valueType = (await ctx.engine.columns(mapping.table)).find((c) => c.name === "v")?.type ?? "VARCHAR";
  const sourceType = columns.find((c) => c.name === config.column)?.type ?? "VARCHAR";
  const src = `i.${ident(config.column)}`;
  const mapped =
    valueType === sourceType ? `coalesce(m.v, ${src})` : `coalesce(CAST(m.v AS VARCHAR), CAST(${src} AS VARCHAR))`;
  const unmapped = `(${src} IS NOT NULL AND m.k IS NULL)`;
  const flag = `_unmapped_${config.column}`;
  const marker = failMarker("unmapped", config.column);

  const select: string[] = [];
  for (const c of names) {
    if (c === target) select.push(`${mapped} AS ${ident(target)}`);
    else if ((mode === "flag" && c === flag) || (mode === "quarantine" && c === marker)) continue;
    else select.push(`i.${ident(c)}`);
    if (c === config.column && !names.includes(target)) select.push(`${mapped} AS ${ident(target)}`);
  }
  if (mode === "flag") select.push(`${unmapped} AS ${ident(flag)}`);
  if (mode === "quarantine") select.push(`CASE WHEN ${unmapped} THEN CAST(${src} AS VARCHAR) END AS ${ident(marker)}`);
  select.push(`${unmapped} AS __sluice_unmapped`);

  const joined = ctx.tmpName("t_map_joined");
  await ctx.engine.run(
    `CREATE TABLE ${joined} AS SELECT ${select.join(", ")} ` +
      `FROM (SELECT *, row_number() OVER () AS __sluice_rn FROM ${input}) i ` +
      `LEFT JOIN ${mapping.table} m ON m.k = CAST(${src} AS VARCHAR) ORDER BY i.__sluice_rn`,
    "transform",
  );
  const stats = await ctx.engine.one<{ n: bigint; u: bigint }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE __sluice_unmapped) AS u FROM ${joined}`,
    "transform",
  );
  const n = Number(stats?.n ?? 0);
  const u = Number(stats?.u ?? 0);
  const action = mode === "keep" ? "kept" : mode === "flag" ? `kept, flagged in ${flag}` : "sent to quarantine";
  ctx.log.info(
    `map ${config.column}: ${n - u} of ${n} rows mapped through ${mapping.description} (${mapping.keys} keys); ${u} unmapped (${action})`,
  );
  const out = ctx.tmpName("t_map");
  await ctx.engine.run(`CREATE VIEW ${out} AS SELECT * EXCLUDE (__sluice_unmapped) FROM ${joined}`, "transform");
  return out;
};
