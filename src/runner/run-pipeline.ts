import pRetry, { AbortError } from "p-retry";
import type { LoadedConfig } from "../config/load-config.js";
import { asSluiceError, SluiceError, ValidationFailedError } from "../errors.js";
import type { RunOptions } from "../plan/batch-context.js";
import type { StageTimer } from "../plan/batch-outcome.js";
import { type BatchPlan, compilePlan } from "../plan/batch-plan.js";
import type { RunRecord } from "../plan/run-record.js";
import type { BatchTap } from "../plan/verdict-rows.js";
import type { Source } from "../sources/source.js";
import { failpoint } from "../util/failpoint.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { Progress } from "../util/progress.js";
import { redactSecrets } from "../util/redact.js";
import { afterRun, resourcesSince, usageNow } from "./after-run.js";
import { retainAfterRun } from "./expire-retention.js";
import { Ledger } from "./ledger.js";
import { pendingBatch } from "./pending-batch.js";
import { PipelineLock } from "./pipeline-lock.js";
import { removeBatchStaging, sweepBatchStaging } from "./publish-run-dead-letters.js";
import { runAttempt } from "./run-attempt.js";
import { alertsObserver, ledgerObserver, RunEvents } from "./run-events.js";
import { newRunId } from "./run-id.js";
import { StateStore } from "./state-store.js";
import { sweepOrphanQuarantine } from "./sweep-orphan-quarantine.js";

export interface RunPipelineOptions extends RunOptions {
  readonly log?: Logger;
  readonly progress?: Progress;
  readonly processingType?: "batch" | "streaming";
  /**
   * Reads this source instead of the configured one (replay of quarantined
   * rows, tests). The rest of the pipeline — transforms, contract, dedup,
   * sinks — is the configured one.
   */
  readonly source?: Source;
  /** The batch's id when the driver derives it (a replay: from the quarantine file it reads). */
  readonly batchId?: string;
  /**
   * The run whose quarantine file this run's quarantined rows replace (replay): published over
   * `quarantine/<pipeline>/<run>.parquet` with the commit, which is removed when no row failed.
   */
  readonly quarantineAs?: string;
  /** Names the driver in the pipeline's lock (`run`, `replay`, `serve`). */
  readonly driver?: string;
  /** Why the driver started the run, kept in the lock (`sluice serve`: schedule, after, retry...). */
  readonly trigger?: string;
  /**
   * The configured source, already open (a stream driver's consumer): read like the configured one
   * (a pending batch is finished first, the intent recorded), not like a replay's `source`.
   */
  readonly liveSource?: Source;
  /** The last successful run's record, when the driver keeps it (a stream: no ledger scan per batch). */
  readonly previous?: RunRecord;
  /** streaming: the consumer's lag when the micro-batch started (kept in the record). */
  readonly lag?: RunRecord["lag"];
  /** A tap on each batch's rows after transforms and contract (`sluice tail`: stream/tail-tap.ts). */
  readonly onValidated?: BatchTap;
  /** The name the state is kept under (a stream worker slot's, `<pipeline>.slot-<k>`); default the pipeline. */
  readonly stateKey?: string;
}

/**
 * `sluice run` for one pipeline: takes the pipeline's lock, runs one batch (first finishing a batch
 * an earlier run left pending, then reading further) and returns the last run's record.
 *
 * A run: attempts with retries on transient errors (exponential backoff, jitter; each attempt a
 * fresh engine), then the run events (alerts, webhooks, ledger), then the state, which moves only
 * once the record that says every sink holds the batch is on disk, then `retention_days`
 * (expire-retention.ts). Never throws for a run failure (the status says it): only for
 * configuration errors and a pipeline that is already running.
 */
export async function runPipeline(
  loaded: LoadedConfig,
  pipeline: string,
  options: RunPipelineOptions = {},
): Promise<RunRecord> {
  const plan = compilePlan(loaded.config, pipeline, options.syncDuckdb === false ? { syncDuckdb: false } : {});
  const startedAt = new Date();
  const runId = newRunId(startedAt);
  const lock = PipelineLock.acquire(loaded.dataDir, pipeline, {
    run_id: runId,
    started_at: startedAt.toISOString(),
    driver: options.driver ?? (options.source ? "replay" : "run"),
    ...(options.trigger ? { trigger: options.trigger } : {}),
  });
  try {
    const stateStore = new StateStore(loaded.dataDir);
    const resuming = !options.source && pendingBatch(stateStore.load(pipeline)) !== undefined;
    const record = await runOnce(loaded, plan, options, runId, startedAt);
    if (!resuming || record.status !== "succeeded" || pendingBatch(stateStore.load(pipeline))) return record;
    // The interrupted batch is complete in every sink: read what came after it.
    return await runOnce(loaded, plan, options);
  } finally {
    lock.release();
  }
}

/**
 * One run of a pipeline whose lock the caller holds: attempts with retries, the run events, the
 * state (see runPipeline). The stream driver calls it once per micro-batch.
 */
export async function runOnce(
  loaded: LoadedConfig,
  plan: BatchPlan,
  options: RunPipelineOptions,
  runId?: string,
  startedAt = new Date(),
): Promise<RunRecord> {
  const usage0 = usageNow();
  const log = options.log ?? silentLogger();
  const progress = options.progress ?? new Progress(false);
  const ledger = new Ledger(loaded.dataDir);
  const stateStore = new StateStore(loaded.dataDir);
  const record = newRecord(plan, runId ?? newRunId(startedAt), startedAt, options);
  if (options.lag) record.lag = options.lag;
  const streaming = options.previous !== undefined || options.liveSource !== undefined;
  const orphans = streaming ? [] : sweepOrphanQuarantine(loaded.dataDir, plan.pipeline, ledger);
  if (orphans.length)
    log.info(`removed the quarantine files of ${orphans.length} run(s) that died before their record`);
  const previous = options.previous ?? (streaming ? undefined : ledger.lastSucceeded(plan.pipeline));
  sweepBatchStaging(loaded.dataDir, plan.pipeline, stateStore);
  const timed = stageTimer(record, progress);
  const attempts = () =>
    withRetries(plan, log, (attempt) => {
      Object.assign(record, { attempts: attempt, durations_ms: {}, warnings: [], outputs: [] });
      delete record.state;
      delete record.sinks_disagree;
      return runAttempt({ loaded, plan, options, log, stateStore, timed, previous, attempt, progress }, record);
    }).then(() => {
      record.status = "succeeded";
    });
  let usage: SluiceError | undefined;
  try {
    await attempts();
  } catch (raw) {
    const e = asSluiceError(raw instanceof AbortError ? raw.cause : raw, "runner", "run");
    failed(record, e);
    // A configuration problem found while running (a source's bad URL) is recorded, then exits 2.
    if (e.exitCode === 2) usage = e;
  } finally {
    progress.done();
    record.finished_at = new Date().toISOString();
    record.resources = resourcesSince(usage0);
  }
  const events = new RunEvents([
    alertsObserver(plan.config.alerts, log, { dataDir: loaded.dataDir, alerting: loaded.config.alerting, ledger }),
    ledgerObserver(ledger, log),
  ]);
  await events.ended(record);
  if (usage) throw usage;
  failpoint("after:record");
  if (record.status === "succeeded" && record.state) stateStore.commit(options.stateKey ?? plan.pipeline, record.state);
  // The batch is committed: its staged enrichment and rejections are not needed again.
  if (record.status === "succeeded" && !record.sinks_disagree && record.batch_id)
    removeBatchStaging(loaded.dataDir, plan.pipeline, record.batch_id);
  // retention_days: after the commit; a failure is a warning in the record, never the run's failure.
  // (A stream's micro-batches leave it to `sluice expire`: a vacuum per micro-batch would cost more than the batch.)
  if (!streaming) await retainAfterRun(loaded.dataDir, plan.config, record, ledger, log);
  // rollups: refreshed, then the on_success / on_failure hook (record on stdin); warnings, never the status.
  await afterRun(loaded, plan.config, record, ledger, log, { streaming });
  return record;
}

/** Times each stage into the record (summed over calls) and stops at the failpoint after it. */
function stageTimer(record: RunRecord, progress: Progress): StageTimer {
  return async (stage, fn) => {
    const t0 = performance.now();
    progress.begin(stage);
    try {
      const result = await fn();
      failpoint(`after:${stage}`);
      return result;
    } finally {
      record.durations_ms[stage] = (record.durations_ms[stage] ?? 0) + Math.round(performance.now() - t0);
    }
  };
}

/** Runs `attempt` until it succeeds, retrying transient SluiceErrors with exponential backoff and jitter. */
function withRetries(plan: BatchPlan, log: Logger, attempt: (n: number) => Promise<void>): Promise<void> {
  return pRetry(attempt, {
    retries: Math.max(plan.config.retries.attempts - 1, 0),
    minTimeout: plan.config.retries.backoff_seconds * 1000,
    factor: 2,
    randomize: true,
    shouldRetry: ({ error }) => error instanceof SluiceError && error.transient,
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0 && error instanceof SluiceError && error.transient) {
        log.warn(`attempt ${attemptNumber} failed (${redactSecrets(error.message)}); retrying`);
      }
    },
  });
}

function newRecord(plan: BatchPlan, runId: string, startedAt: Date, options: RunPipelineOptions): RunRecord {
  return {
    run_id: runId,
    pipeline: plan.pipeline,
    status: "failed",
    processing_type: options.processingType ?? "batch",
    started_at: startedAt.toISOString(),
    finished_at: startedAt.toISOString(),
    attempts: 0,
    source: plan.config.source.type,
    rows: { extracted: 0, filtered: 0, valid: 0, quarantined: 0, duplicates: 0, duplicates_dropped: 0, written: 0 },
    outputs: [],
    commits: [],
    durations_ms: {},
    metrics: { validation_pass_rate: 1, null_rate: {}, unique: {}, row_count_delta: null, duplicate_rate: 0 },
    alerts: [],
    warnings: [],
  };
}

/** A failed run's record: the error, and counts that say nothing reached the sinks as a whole. */
function failed(record: RunRecord, e: SluiceError): void {
  record.status = e.exitCode === 3 ? "validation_failed" : "failed";
  record.rows.written = 0;
  delete record.rows.dataset;
  delete record.rows.keys;
  delete record.state;
  if (e instanceof ValidationFailedError) {
    record.report_path = e.reportPath;
    record.rows.quarantined = 0;
    record.rows.valid = Math.max(record.rows.extracted - record.rows.filtered - e.failedRows, 0);
  }
  record.error = {
    message: redactSecrets(e.message),
    ...(e.hint ? { hint: redactSecrets(e.hint) } : {}),
    component: e.component,
    stage: e.stage,
    ...(e.transient ? { transient: true } : {}),
    ...(e.transient && e.retryAfterMs !== undefined ? { retry_after_ms: e.retryAfterMs } : {}),
  };
}
