import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { literal } from "../engine/sql.js";
import { applyTransformSteps, type TransformResult } from "../transforms/apply-transforms.js";
import type { DeadLetterCollector } from "../transforms/transform.js";
import { asidePath, publish, removeQuietly, writeFileAtomic } from "../util/atomic.js";
import type { RunContext } from "./batch-context.js";

/** The transform stage of a batch, and the dead letters its steps left (Parquet files). */
export interface TransformedBatch extends TransformResult {
  /** Files of dead letters (the step's input columns, `_error`, `_stage`) and their row count. */
  readonly deadLetters: { readonly files: readonly string[]; readonly rows: number };
}

/** What `enriched.json` records of a staged transform stage. */
interface StagedMeta {
  readonly batch_id: string;
  readonly rows: number;
  readonly filtered: number;
  readonly dead_lettered: number;
}

const META = "enriched.json";
const ROWS = "enriched.parquet";
const DEAD = "enrich-dead.parquet";

/**
 * The folder of a batch's staged results, `<data_dir>/.staging/<pipeline>/<batch id>/`: what must be
 * the same in every attempt of the batch (enrichment, sink rejections). Removed by the driver once
 * its state moved past the batch (runner/sweep-batch-staging.ts).
 */
export function batchStagingDir(dataDir: string, pipeline: string, batchId: string): string {
  return join(dataDir, ".staging", pipeline, batchId.replace(/[^\w.-]+/g, "_"));
}

/**
 * Runs the pipeline's transforms (apply-transforms.ts). A pipeline with an `http` step gets the
 * result fixed the first time its batch id runs: the transformed rows and the steps' dead letters
 * are written (aside, then renamed; `enriched.json` last) under the batch's staging folder before
 * any sink sees them, and every later attempt of that batch id (a retry, a rerun of a pending
 * batch, a redelivered micro-batch) reads them instead of calling the API again, so an API that
 * answers differently each time cannot make the sinks and the dead letters disagree.
 */
export async function transformBatch(ctx: RunContext, relation: string, rows: number): Promise<TransformedBatch> {
  const steps = ctx.pipelineConfig.transforms;
  if (!steps.some((s) => s.type === "http")) {
    return { ...(await applyTransformSteps(ctx, relation, rows)), deadLetters: { files: [], rows: 0 } };
  }
  const dir = batchStagingDir(ctx.dataDir, ctx.pipeline, ctx.batchId);
  const meta = join(dir, META);
  if (existsSync(meta)) {
    const staged = JSON.parse(readFileSync(meta, "utf8")) as StagedMeta;
    ctx.log.info(`batch ${ctx.batchId}: reusing its staged enrichment (${staged.rows} rows)`);
    return {
      relation: await parquetView(ctx, join(dir, ROWS)),
      rows: staged.rows,
      filtered: staged.filtered,
      deadLetters: { files: staged.dead_lettered > 0 ? [join(dir, DEAD)] : [], rows: staged.dead_lettered },
    };
  }
  const parts: string[] = [];
  let deadRows = 0;
  const deadLetters: DeadLetterCollector = {
    async add(rel, stage) {
      mkdirSync(ctx.scratchDir, { recursive: true });
      const file = join(ctx.scratchDir, `${ctx.tmpName("dead")}.parquet`);
      const written = await ctx.engine.one<{ Count: bigint | number }>(
        `COPY (SELECT *, ${literal(stage)} AS _stage FROM ${rel}) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`,
        "transform",
      );
      const n = Number(written?.Count ?? 0);
      parts.push(file);
      deadRows += n;
      return n;
    },
  };
  const result = await applyTransformSteps({ ...ctx, deadLetters }, relation, rows);
  mkdirSync(dir, { recursive: true });
  if (parts.length > 0) {
    await copyTo(ctx, `SELECT * FROM read_parquet(${fileList(parts)}, union_by_name = true)`, join(dir, DEAD));
  }
  await copyTo(ctx, `SELECT * FROM ${result.relation}`, join(dir, ROWS));
  const staged: StagedMeta = {
    batch_id: ctx.batchId,
    rows: result.rows,
    filtered: result.filtered - deadRows,
    dead_lettered: deadRows,
  };
  writeFileAtomic(meta, `${JSON.stringify(staged)}\n`);
  for (const p of parts) removeQuietly(p);
  // Later stages read the staged file, as a reusing attempt does: the same rows and types either way.
  return {
    relation: await parquetView(ctx, join(dir, ROWS)),
    rows: staged.rows,
    filtered: staged.filtered,
    deadLetters: { files: deadRows > 0 ? [join(dir, DEAD)] : [], rows: deadRows },
  };
}

/** Writes `select` as Parquet at `target`, aside then renamed. */
export async function copyTo(ctx: Pick<RunContext, "engine">, select: string, target: string): Promise<number> {
  const aside = asidePath(target);
  try {
    const written = await ctx.engine.one<{ Count: bigint | number }>(
      `COPY (${select}) TO ${literal(aside)} (FORMAT parquet, COMPRESSION zstd)`,
      "stage",
    );
    publish(aside, target);
    return Number(written?.Count ?? 0);
  } catch (err) {
    removeQuietly(aside);
    throw err;
  }
}

async function parquetView(ctx: RunContext, file: string): Promise<string> {
  const view = ctx.tmpName("enriched");
  await ctx.engine.run(`CREATE VIEW ${view} AS SELECT * FROM read_parquet(${literal(file)})`, "transform");
  return view;
}

/** `['a', 'b']` for read_parquet. */
export function fileList(files: readonly string[]): string {
  return `[${files.map(literal).join(", ")}]`;
}
