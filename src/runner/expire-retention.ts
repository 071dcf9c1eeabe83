import type { ParquetSinkConfig, PipelineConfig } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { asSluiceError } from "../errors.js";
import type { RunRecord } from "../plan/run-record.js";
import { expireParquetSink, type SinkRetention } from "../sinks/parquet/expire-parquet.js";
import { sluiceNow } from "../sources/sluice-now.js";
import type { Logger } from "../util/logger.js";
import { redactSecrets } from "../util/redact.js";
import type { Ledger } from "./ledger.js";

/** What retention did to one pipeline's parquet sinks (the run record's `retention`). */
export interface PipelineRetention {
  readonly days: number;
  /** The clock retention counted from (ISO): SLUICE_NOW when set, else the run's start. */
  readonly now: string;
  readonly sinks: SinkRetention[];
  /** One per sink whose retention failed. */
  readonly warnings: string[];
}

/**
 * Applies `retention_days` to every parquet sink of a pipeline (`expireParquetSink`): Delta tables
 * get one DELETE commit and a vacuum, Hive trees a new version without the old partitions, snapshot
 * folders lose their old snapshots. DuckDB and PostgreSQL sinks are not touched. The caller holds
 * the pipeline's lock. Never throws: a sink whose retention fails is a warning and the others go
 * on. Logs one line per sink that lost something. `dryRun` reports without changing anything.
 */
export async function expirePipeline(
  config: PipelineConfig,
  dataDir: string,
  options: {
    readonly days: number;
    readonly now: Date;
    readonly runId: string;
    readonly log: Logger;
    readonly dryRun?: boolean;
  },
): Promise<PipelineRetention> {
  const sinks = config.sinks.filter((s): s is ParquetSinkConfig => s.type === "parquet");
  const result: PipelineRetention = { days: options.days, now: options.now.toISOString(), sinks: [], warnings: [] };
  if (sinks.length === 0) return result;
  const engine = await Engine.open({ threads: 1 });
  try {
    for (const sink of sinks) {
      try {
        const done = await expireParquetSink(engine, sink, dataDir, {
          now: options.now.getTime(),
          days: options.days,
          runId: options.runId,
          ...(options.dryRun ? { dryRun: true } : {}),
        });
        result.sinks.push(done);
        logRetention(done, sink.path, options.log, options.dryRun === true);
      } catch (err) {
        const e = asSluiceError(err, "retention", "retention");
        const warning = `retention of ${sink.path} failed (the run's data is committed): ${redactSecrets(e.message)}`;
        result.warnings.push(warning);
        options.log.warn(warning);
      }
    }
  } finally {
    engine.close();
  }
  return result;
}

/**
 * The runner's hook, after a successful run committed its state: applies the pipeline's
 * `retention_days` (if any) counted from the run's clock (SLUICE_NOW, else the run's start), sets
 * `record.retention`, adds failures and sinks retention cannot apply to as warnings, and saves the
 * record again. Never throws and never changes the run's status.
 */
export async function retainAfterRun(
  dataDir: string,
  config: PipelineConfig,
  record: RunRecord,
  ledger: Ledger,
  log: Logger,
): Promise<void> {
  const days = config.retention_days;
  if (days === undefined || record.status !== "succeeded" || record.sinks_disagree) return;
  try {
    const now = sluiceNow(new Date(record.started_at));
    const done = await expirePipeline(config, dataDir, { days, now, runId: record.run_id, log });
    record.retention = { days: done.days, now: done.now, sinks: done.sinks };
    record.warnings.push(...done.warnings);
    for (const s of done.sinks) if (s.skipped) record.warnings.push(`retention of ${s.sink}: ${s.skipped}`);
  } catch (err) {
    const warning = `retention failed (the run's data is committed): ${redactSecrets(asSluiceError(err, "retention", "retention").message)}`;
    record.warnings.push(warning);
    log.warn(warning);
  }
  try {
    ledger.save(record);
  } catch (err) {
    log.warn(`could not add retention to the record of run ${record.run_id}: ${(err as Error).message}`);
  }
}

/** "retention: removed 3 partitions older than 2026-01-01 from raw/events" (and what vacuum deleted). */
function logRetention(done: SinkRetention, path: string, log: Logger, dryRun: boolean): void {
  const verb = dryRun ? "would remove" : "removed";
  const what = done.layout === "snapshot" ? "snapshot" : "partition";
  if (done.removed.length > 0) {
    const n = done.removed.length;
    const version = done.version !== undefined ? ` (Delta version ${done.version})` : "";
    log.info(
      `retention: ${verb} ${n} ${what}${n === 1 ? "" : "s"} older than ${done.older_than} from ${path}${version}`,
    );
  }
  if (done.vacuumed) {
    log.info(
      `retention: vacuum ${dryRun ? "would delete" : "deleted"} ${done.vacuumed} data file(s) of ${path} removed more than 168 hours ago`,
    );
  }
  if (done.skipped) log.warn(`retention of ${path}: ${done.skipped}`);
}
