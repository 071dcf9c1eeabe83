import type { TransformConfig } from "../config/spec.js";
import { ident, literal } from "../engine/sql.js";
import { parseFailMarker } from "../engine/system-columns.js";
import { SluiceError } from "../errors.js";
import { refuseSourcePos, requireColumn } from "./columns.js";
import type { Transform, TransformContext, TransformOf } from "./transform.js";

/**
 * `pii`: per column `hash`, `mask` or `drop`, before anything is validated
 * or written, so quarantine files, reports and sinks only ever see the
 * protected value.
 *
 * - hash: lowercase hex sha256 of salt || value (the value as text). The salt
 *   comes from the environment variable `salt_env` (default
 *   SLUICE_PII_SALT); without it the step fails (exit 2) rather than hash
 *   unsalted. The salt is bound as a parameter into a session variable, so it
 *   never appears in SQL text or error messages. Same value + same salt =
 *   same hash, so hashed ids still join and count distinct.
 * - mask: emails keep their first character and domain (`j***@example.com`),
 *   anything else its first and last character (`a***z`); values of three
 *   characters or fewer become `***`. The column becomes VARCHAR.
 * - drop: the column is removed.
 * NULL stays NULL in every mode (so a contract's `required` still applies).
 * A fail marker of a protected column (see engine/system-columns.ts) gets the same
 * treatment, or is dropped with it.
 */
export const pii: Transform<TransformOf<"pii">> = async (ctx, input, config) => {
  const columns = (await ctx.engine.columns(input)).map((c) => c.name);
  for (const column of Object.keys(config.columns)) {
    requireColumn(columns, column, "pii.columns");
    refuseSourcePos(column, "pii.columns");
  }
  const modes = Object.values(config.columns);
  const saltVar = modes.includes("hash") ? await bindSalt(ctx, config.salt_env) : undefined;

  const select: string[] = [];
  for (const c of columns) {
    const mode = config.columns[parseFailMarker(c)?.column ?? c];
    const col = ident(c);
    if (mode === undefined) select.push(col);
    else if (mode === "hash") select.push(`${hashExpression(col, saltVar!)} AS ${col}`);
    else if (mode === "mask") select.push(`${maskExpression(col)} AS ${col}`);
  }
  if (select.length === 0) {
    throw new SluiceError("pii: every column would be dropped", {
      component: "transform",
      stage: "transform",
      hint: "keep at least one column",
      exitCode: 2,
    });
  }
  const out = ctx.tmpName("t_pii");
  await ctx.engine.run(`CREATE VIEW ${out} AS SELECT ${select.join(", ")} FROM ${input}`, "transform");
  return out;
};

/** sha256 hex of salt || value; NULL stays NULL. */
export function hashExpression(col: string, saltVar: string): string {
  return `sha256(getvariable(${literal(saltVar)}) || CAST(${col} AS VARCHAR))`;
}

/** Masked text of a value; NULL stays NULL. */
export function maskExpression(col: string): string {
  const v = `CAST(${col} AS VARCHAR)`;
  return (
    `CASE WHEN ${col} IS NULL THEN NULL ` +
    `WHEN regexp_matches(${v}, '^[^@\\s]+@[^@\\s]+$') THEN left(${v}, 1) || '***' || regexp_extract(${v}, '@[^@]+$') ` +
    `WHEN length(${v}) <= 3 THEN '***' ` +
    `ELSE left(${v}, 1) || '***' || right(${v}, 1) END`
  );
}

/**
 * Puts the salt in a session variable through a bound parameter and returns
 * the variable's name. Throws (exit 2) when the environment variable is unset
 * or empty.
 */
async function bindSalt(ctx: TransformContext, envName: string): Promise<string> {
  const salt = process.env[envName];
  if (!salt) {
    throw new SluiceError(`pii: the hash salt variable ${envName} is not set`, {
      component: "transform",
      stage: "transform",
      hint: `export ${envName}=<a long random secret> (e.g. \`openssl rand -hex 32\`) and keep it stable: changing it changes every hash. sluice never hashes without a salt.`,
      exitCode: 2,
    });
  }
  const name = ctx.tmpName("pii_salt");
  await ctx.engine.connection.run(`SET VARIABLE ${ident(name)} = $1`, [salt]);
  return name;
}

/**
 * True when a pipeline's transforms protect any column with `pii`. Text that
 * bypasses the transforms — the raw line of an unparseable record — must then
 * never be written (quarantine `_raw`, failure values, reports): it holds the
 * clear values the step exists to hide.
 */
export function protectsPii(transforms: readonly TransformConfig[]): boolean {
  return transforms.some((t) => t.type === "pii" && Object.keys(t.columns).length > 0);
}
