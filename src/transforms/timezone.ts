import { suggest } from "../config/suggest.js";
import { ident, literal } from "../engine/sql.js";
import { refuseSourcePos, requireColumn, transformConfigError } from "./columns.js";
import type { Transform, TransformContext, TransformOf } from "./transform.js";
import { handleFailures, type ValueCheck } from "./value-failures.js";

/**
 * A time followed by an explicit zone: Z, +09, +0900, +09:00, or a zone name
 * (` UTC`, ` Asia/Tokyo`). A string matching it is an instant on its own; any
 * other string is a wall-clock time in `source_zone`.
 */
const EXPLICIT_ZONE = String.raw`\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?|\s[A-Za-z][A-Za-z0-9_+/-]*)$`;

/**
 * `timezone`: normalizes timestamp columns to TIMESTAMPTZ (UTC instants).
 *
 * Per input type: TIMESTAMPTZ passes through; TIMESTAMP and DATE are
 * wall-clock values in `source_zone`; strings with an explicit offset or zone
 * name are parsed with it, strings without are read in `source_zone`
 * ("2025-03-01T09:00:00+09:00", "2025-03-01 00:00:00Z" and
 * "2025-03-01T01:00:00" in Europe/Paris are the same instant). Strings that
 * do not parse become NULL, reported as `type` failures of the column (see
 * cast.ts for how). Numbers are not guessed at (seconds or milliseconds?):
 * convert them with a `derive` step (to_timestamp(x / 1000)).
 */
export const timezone: Transform<TransformOf<"timezone">> = async (ctx, input, config) => {
  const zone = await checkZone(ctx, config.source_zone);
  const columns = await ctx.engine.columns(input);
  const names = columns.map((c) => c.name);
  for (const c of config.columns) {
    requireColumn(names, c, "timezone.columns");
    refuseSourcePos(c, "timezone.columns");
  }
  const wanted = new Set(config.columns);
  const checks: ValueCheck[] = [];
  const select = columns.map((c) => {
    const col = ident(c.name);
    if (!wanted.has(c.name)) return col;
    const type = c.type.toUpperCase();
    if (type === "TIMESTAMP WITH TIME ZONE" || type === "TIMESTAMPTZ") return col;
    if (type.startsWith("TIMESTAMP") || type === "DATE") {
      return `timezone(${literal(zone)}, CAST(${col} AS TIMESTAMP)) AS ${col}`;
    }
    if (type !== "VARCHAR") {
      throw transformConfigError(
        `timezone.columns: \`${c.name}\` is ${c.type}, not a timestamp or text`,
        "convert it first, e.g. derive: { ts: 'to_timestamp(epoch_ms / 1000)' } for epoch milliseconds",
      );
    }
    const parsed = parseExpression(col, zone);
    checks.push({ column: c.name, failed: `(${col} IS NOT NULL AND ${parsed} IS NULL)`, value: col });
    return `${parsed} AS ${col}`;
  });
  select.push(...(await handleFailures(ctx, input, checks, "timezone")));
  const out = ctx.tmpName("t_timezone");
  await ctx.engine.run(`CREATE VIEW ${out} AS SELECT ${select.join(", ")} FROM ${input}`, "transform");
  return out;
};

/** SQL turning the VARCHAR `col` into a TIMESTAMPTZ, NULL when it does not parse. */
function parseExpression(col: string, zone: string): string {
  const trimmed = `trim(${col})`;
  return (
    `CASE WHEN regexp_matches(${trimmed}, ${literal(EXPLICIT_ZONE)}) ` +
    `THEN TRY_CAST(${trimmed} AS TIMESTAMPTZ) ` +
    `ELSE timezone(${literal(zone)}, TRY_CAST(${trimmed} AS TIMESTAMP)) END`
  );
}

/** The zone as DuckDB (ICU) knows it; config error (exit 2) with a did-you-mean otherwise. */
async function checkZone(ctx: TransformContext, zone: string): Promise<string> {
  const names = await ctx.engine.all<{ name: string }>("SELECT name FROM pg_timezone_names()", "transform");
  const all = names.map((n) => n.name);
  if (all.includes(zone)) return zone;
  const guess = suggest(zone, all);
  throw transformConfigError(
    `timezone.source_zone: unknown time zone \`${zone}\`${guess ? `; did you mean \`${guess}\`?` : ""}`,
    "use an IANA zone name such as UTC, Europe/Paris, America/New_York or Asia/Tokyo",
  );
}
