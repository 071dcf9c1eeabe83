import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { SinkConfig } from "../config/spec.js";
import { literal } from "../engine/sql.js";
import { batchesOption } from "../sinks/parquet/batch-metadata.js";
import { copyOptions } from "../sinks/parquet/copy-options.js";
import type { StagedFile } from "../sinks/sink.js";
import type { RunContext } from "./batch-context.js";

/** Options of the staged file when no snapshot sink would adopt it: ZSTD writes fastest here. */
const SCRATCH_OPTIONS = "(FORMAT parquet, PARQUET_VERSION v2, COMPRESSION zstd)";

/** The staged batch: a view over the file, and the file. */
export interface StagedBatch extends StagedFile {
  /** View reading the staged file: what sinks and metrics read. */
  readonly relation: string;
}

/**
 * Writes the final relation of a batch once, as a Parquet file in the run's
 * scratch folder, and returns a view over it.
 *
 * Every lazy stage before it (a source view over files, the contract's casts
 * and deferred checks, lineage) runs in this one streaming scan; sinks and
 * metrics then read the file: columnar, on disk, so memory stays bounded
 * whatever the batch size, and no stage is evaluated twice. The file is
 * written with the options of the first snapshot Parquet sink, which then
 * adopts it as its output instead of writing the same rows again. Row order
 * is the relation's (DuckDB keeps insertion order in COPY).
 */
export async function stageBatch(
  ctx: RunContext,
  relation: string,
  scratch: string,
  sinks: readonly SinkConfig[],
  { keepFiltersAbove = false }: { keepFiltersAbove?: boolean } = {},
): Promise<StagedBatch> {
  const snapshot = sinks.find((s) => s.type === "parquet" && s.layout === "snapshot");
  const options = snapshot?.type === "parquet" ? copyOptions(snapshot) : SCRATCH_OPTIONS;
  mkdirSync(scratch, { recursive: true });
  const path = join(scratch, `${ctx.tmpName("batch")}.parquet`);
  // Recorded as a snapshot sink records the batch it replaces the dataset with, so it can adopt the file.
  const kv = batchesOption([ctx.batchId]);
  const copy = `COPY (SELECT * FROM ${relation}) TO ${literal(path)} ${options.slice(0, -1)}, ${kv})`;
  // The deferred contract check is a filter over the typed values; pushed below the projection that
  // computes them, DuckDB would compute every cast twice (once to check, once to write).
  if (keepFiltersAbove) await ctx.engine.run("SET disabled_optimizers = 'filter_pushdown'", "stage");
  const written = await ctx.engine
    .one<{ Count: bigint | number }>(copy, "stage")
    .finally(() => (keepFiltersAbove ? ctx.engine.run("RESET disabled_optimizers", "stage") : undefined));
  const view = ctx.tmpName("staged");
  await ctx.engine.run(`CREATE VIEW ${view} AS SELECT * FROM read_parquet(${literal(path)})`, "stage");
  return { relation: view, path, options, rows: Number(written?.Count ?? 0) };
}
