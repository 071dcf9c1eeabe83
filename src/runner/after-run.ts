import type { LoadedConfig } from "../config/load-config.js";
import type { PipelineConfig } from "../config/spec.js";
import type { RunRecord, RunResources } from "../plan/run-record.js";
import type { Logger } from "../util/logger.js";
import type { Ledger } from "./ledger.js";
import { refreshRollups } from "./refresh-rollups.js";
import { runHook } from "./run-hooks.js";

/** The process's usage at a run's start (see resourcesSince). */
export function usageNow(): NodeJS.ResourceUsage {
  return process.resourceUsage();
}

/**
 * The record's `resources`: CPU time since `start` (user and system, every thread of the process,
 * DuckDB's included) and the process's peak RSS so far (getrusage maxrss, which only grows: for a
 * `sluice run` process the run's own peak, for a stream worker's micro-batch the worker's peak up to
 * this batch), with the RSS at the end.
 */
export function resourcesSince(start: NodeJS.ResourceUsage): RunResources {
  const end = process.resourceUsage();
  return {
    peak_rss_bytes: end.maxRSS * 1024,
    rss_bytes: process.memoryUsage.rss(),
    cpu_user_ms: Math.round((end.userCPUTime - start.userCPUTime) / 1000),
    cpu_system_ms: Math.round((end.systemCPUTime - start.systemCPUTime) / 1000),
  };
}

/**
 * What follows a run once its record is written and (succeeded) its state committed: the
 * `rollups:` that read the pipeline (succeeded runs whose sinks agree), then the `on_success` or
 * `on_failure` hook, which gets the record with the rollups in it. The record is saved again when
 * either changed it. Never throws and never changes the run's status: failures are warnings.
 */
export async function afterRun(
  loaded: LoadedConfig,
  config: PipelineConfig,
  record: RunRecord,
  ledger: Ledger,
  log: Logger,
  opts: { streaming: boolean },
): Promise<void> {
  let changed = false;
  if (record.status === "succeeded" && !record.sinks_disagree) {
    const { results, warnings } = await refreshRollups(loaded, record, log, opts);
    if (results.length > 0) {
      record.rollups = results;
      record.warnings.push(...warnings);
      changed = true;
    }
  }
  const hook = await runHook(config, record, loaded.dir, log).catch((err: Error) => ({
    result: undefined,
    warning: `hook failed: ${err.message}`,
  }));
  if (hook) {
    if (hook.result) record.hooks = [hook.result];
    if (hook.warning) record.warnings.push(hook.warning);
    changed = true;
  }
  if (!changed) return;
  try {
    ledger.save(record);
  } catch (err) {
    log.warn(`could not add rollups and hooks to the record of run ${record.run_id}: ${(err as Error).message}`);
  }
}
