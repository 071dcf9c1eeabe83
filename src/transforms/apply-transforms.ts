import { qualified } from "../engine/sql.js";
import { SluiceError } from "../errors.js";
import { runTransform } from "./registry.js";
import type { TransformContext } from "./transform.js";

/**
 * Applies the pipeline's transforms in order (SPEC section 6). Each step is
 * SQL over the previous relation; the result is a relation in the engine.
 * Contract: transforms never drop a row silently (only `filter` and `sql`
 * remove rows, by the user's predicate or query), and values that cannot be
 * converted become NULL for the contract to catch (with a fail marker, see
 * engine/system-columns.ts), not exceptions. With no transforms the input is returned as
 * is; otherwise the result is one table, materialized here so every step's
 * work (and any runtime error) happens in the transform stage and later
 * stages scan it without re-evaluating the steps.
 */
export async function applyTransforms(ctx: TransformContext, relation: string): Promise<string> {
  return (await applyTransformSteps(ctx, relation)).relation;
}

/** What applyTransformSteps did: the result relation and its row count. */
export interface TransformResult {
  readonly relation: string;
  readonly rows: number;
  /** Rows removed by `filter` and `sql` steps: input rows minus `rows`. */
  readonly filtered: number;
}

/**
 * applyTransforms, also returning the row counts the run record needs
 * (extracted = written + quarantined + duplicates dropped + filtered).
 * `rows`, when given, is the input's row count (saves scanning a lazy input).
 * Errors name the step: `transforms[2] (rename): ...`.
 */
export async function applyTransformSteps(
  ctx: TransformContext,
  relation: string,
  rows?: number,
): Promise<TransformResult> {
  const steps = ctx.pipelineConfig.transforms;
  const inputRows = rows ?? (await ctx.engine.count(relation));
  if (steps.length === 0) return { relation, rows: inputRows, filtered: 0 };
  const before = new Set((await relations(ctx)).map((r) => r.key));
  let current = relation;
  for (const [i, step] of steps.entries()) {
    try {
      current = await runTransform(ctx, current, step);
    } catch (err) {
      throw labelled(err, `transforms[${i}] (${step.type})`);
    }
  }
  const out = ctx.tmpName("transformed");
  try {
    await ctx.engine.run(`CREATE TABLE ${out} AS SELECT * FROM ${current}`, "transform");
  } catch (err) {
    throw labelled(err, "transforms");
  }
  const outRows = await ctx.engine.count(out);
  // The steps' intermediate tables and views (joined maps, filtered copies, mapping tables) are no longer needed.
  for (const r of await relations(ctx)) {
    if (!before.has(r.key) && r.name !== out) await ctx.engine.run(`DROP ${r.kind} IF EXISTS ${r.key}`, "transform");
  }
  return { relation: out, rows: outRows, filtered: inputRows - outRows };
}

/** Every user table and view of the session, with its qualified name. */
async function relations(ctx: TransformContext): Promise<{ kind: "VIEW" | "TABLE"; key: string; name: string }[]> {
  const rows = await ctx.engine.all<{ kind: "VIEW" | "TABLE"; db: string; schema: string; name: string }>(
    "SELECT 'VIEW' AS kind, database_name AS db, schema_name AS schema, view_name AS name FROM duckdb_views() WHERE NOT internal " +
      "UNION ALL SELECT 'TABLE', database_name, schema_name, table_name FROM duckdb_tables() WHERE NOT internal",
    "transform",
  );
  return rows.map((r) => ({ kind: r.kind, key: qualified(r.db, r.schema, r.name), name: r.name }));
}

function labelled(err: unknown, label: string): SluiceError {
  if (!(err instanceof SluiceError))
    return new SluiceError(`${label}: ${String(err)}`, { component: "transform", stage: "transform", cause: err });
  return new SluiceError(`${label}: ${err.message}`, {
    component: err.component === "duckdb" ? "transform" : err.component,
    stage: "transform",
    ...(err.hint ? { hint: err.hint } : {}),
    transient: err.transient,
    ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
    exitCode: err.exitCode,
    cause: err.cause ?? err,
  });
}
