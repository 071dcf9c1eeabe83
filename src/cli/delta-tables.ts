import { resolve } from "node:path";
import { Engine } from "../engine/engine.js";
import { ConfigError } from "../errors.js";
import { PipelineLock } from "../runner/pipeline-lock.js";
import { newRunId } from "../runner/run-id.js";
import { loadFromFlags } from "./load.js";

/**
 * Runs `fn` on each Delta table of `pipeline` (parquet sinks with `format: delta`), under the
 * pipeline's lock (maintenance never races a run's commits), with one engine; returns the results.
 */
export async function forEachDeltaTable<T>(
  pipeline: string,
  flags: { config?: string },
  driver: string,
  fn: (engine: Engine, root: string, sink: string, runId: string) => Promise<T>,
): Promise<T[]> {
  const loaded = await loadFromFlags(flags);
  const p = loaded.config.pipelines[pipeline];
  if (!p) throw new ConfigError(`no pipeline named \`${pipeline}\` in ${loaded.path}`);
  const tables = p.sinks.flatMap((s) => (s.type === "parquet" && s.format === "delta" ? [s.path] : []));
  if (tables.length === 0) {
    throw new ConfigError(
      `pipeline \`${pipeline}\` has no Delta table`,
      "this works on parquet sinks with `format: delta`",
    );
  }
  const runId = newRunId();
  const lock = PipelineLock.acquire(loaded.dataDir, pipeline, {
    run_id: runId,
    started_at: new Date().toISOString(),
    driver,
  });
  const engine = await Engine.open();
  try {
    const results: T[] = [];
    for (const path of tables) results.push(await fn(engine, resolve(loaded.dataDir, path), path, runId));
    return results;
  } finally {
    engine.close();
    lock.release();
  }
}
