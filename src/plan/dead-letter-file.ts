import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ident, literal } from "../engine/sql.js";
import type { SinkOutput } from "../sinks/sink.js";
import type { RunContext } from "./batch-context.js";
import { batchStagingDir, copyTo, fileList } from "./enrich-staging.js";

/** The batch's dead letters, staged in the scratch folder: published by the driver with the commit. */
export interface StagedDeadLetters {
  readonly path: string;
  readonly rows: number;
}

/** A sink's refused rows kept for the batch: a Parquet file (its columns, `_error`, `_stage`). */
export interface SinkRejects {
  readonly file: string;
  readonly rows: number;
}

/**
 * Keeps the rows sink `index` refused (`out.rejected`) under the batch's staging folder, at once
 * after its write: an attempt in which that sink then reports `held` (it committed the batch
 * before) finds them there, so the batch's dead letters stay complete across retries. Returns the
 * rows kept for the sink this attempt, if any.
 */
export async function keepSinkRejects(
  ctx: RunContext,
  index: number,
  out: SinkOutput,
): Promise<SinkRejects | undefined> {
  const file = join(batchStagingDir(ctx.dataDir, ctx.pipeline, ctx.batchId), `rejected-${index}.parquet`);
  if (out.rejected && out.rejected.rows > 0) {
    mkdirSync(join(file, ".."), { recursive: true });
    const stage = literal(`sink:${out.sink}`);
    const rows = await copyTo(ctx, `SELECT *, ${stage} AS _stage FROM ${out.rejected.relation}`, file);
    return { file, rows };
  }
  if (out.status === "held" && existsSync(file)) {
    const counted = await ctx.engine.one<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${literal(file)})`);
    return { file, rows: Number(counted?.n ?? 0) };
  }
  return undefined;
}

/**
 * Writes the batch's dead letters (enrichment files and sink rejections) as one Parquet file in the
 * scratch folder: the record's columns, `_error`, `_stage` (`enrich:<name>`, `sink:<name>`),
 * `_batch_id` and `_run_id`. Returns undefined when there are none.
 */
export async function stageDeadLetters(
  ctx: RunContext,
  files: readonly string[],
): Promise<StagedDeadLetters | undefined> {
  if (files.length === 0) return undefined;
  const all = ctx.tmpName("dead_letters");
  await ctx.engine.run(
    `CREATE VIEW ${all} AS SELECT * FROM read_parquet(${fileList(files)}, union_by_name = true)`,
    "deadletter",
  );
  // The record's columns (its `_source_pos` when the step saw it), then why and where it left.
  const own = new Set(["_batch_id", "_run_id", "_source_row", "_error", "_stage"]);
  const names = (await ctx.engine.columns(all)).map((c) => c.name);
  const columns = [...names.filter((c) => !own.has(c) && !c.startsWith("_fail:")), "_error", "_stage"];
  const path = join(ctx.scratchDir, `${ctx.tmpName("deadletter")}.parquet`);
  mkdirSync(ctx.scratchDir, { recursive: true });
  const rows = await copyTo(
    ctx,
    `SELECT ${columns.map(ident).join(", ")}, ${literal(ctx.batchId)} AS _batch_id, ${literal(ctx.runId)} AS _run_id FROM ${all}`,
    path,
  );
  return rows > 0 ? { path, rows } : undefined;
}
