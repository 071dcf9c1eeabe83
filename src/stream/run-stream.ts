import type { LoadedConfig } from "../config/load-config.js";
import { compilePlan } from "../plan/batch-plan.js";
import type { RunRecord } from "../plan/run-record.js";
import { Ledger } from "../runner/ledger.js";
import { pendingBatch } from "../runner/pending-batch.js";
import { PipelineLock } from "../runner/pipeline-lock.js";
import { newRunId } from "../runner/run-id.js";
import { runOnce } from "../runner/run-pipeline.js";
import { StateStore } from "../runner/state-store.js";
import type { StreamSource } from "../sources/stream/stream-source.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { afterFailure } from "./after-failure.js";
import { compactLake } from "./compact-lake.js";
import { openStreamSource } from "./open-stream-source.js";

export interface StreamOptions {
  /** Aborting it stops the stream at the next micro-batch boundary (SIGINT/SIGTERM). */
  readonly stop: AbortSignal;
  readonly log?: Logger;
  /** Stop after this many micro-batches (tests, benches). */
  readonly maxBatches?: number;
  /** Called with each micro-batch's record. */
  readonly onBatch?: (record: RunRecord) => void;
}

/** What a stream did in its life (printed when it stops). */
export interface StreamSummary {
  readonly pipeline: string;
  readonly started_at: string;
  finished_at: string;
  batches: number;
  failed: number;
  rows: { extracted: number; written: number; quarantined: number };
  /** The committed position when it stopped. */
  position?: string;
  /** Micro-batches whose messages went to the dead letter. */
  dead_lettered?: number;
  lag?: RunRecord["lag"];
}

/** Longest wait between attempts of a micro-batch that keeps failing. */
const MAX_BACKOFF_MS = 30_000;

/**
 * `sluice stream PIPELINE`: reads the pipeline's stream in micro-batches until `stop` aborts, each
 * one a run of the batch plan (runOnce: transforms, contract, dedup, sinks, record, state), under
 * the pipeline's lock for the stream's whole life.
 *
 * Contract (the commit protocol of docs/ARCHITECTURE.md, per micro-batch): the batch's intent
 * (its id from the stream positions, and the position it ends at) is in the state before any sink
 * writes; the state moves to that position only after every sink holds the batch, and only then
 * are the messages acknowledged to the broker. Killed at any moment, the next worker starts the
 * consumer after the committed position and first finishes the pending batch with the same
 * messages and id, which sinks that hold it skip. A micro-batch that fails is tried again (same
 * messages, same id) with backoff; the stream does not skip it.
 */
export async function runStream(
  loaded: LoadedConfig,
  pipeline: string,
  options: StreamOptions,
): Promise<StreamSummary> {
  const log = options.log ?? silentLogger();
  const plan = compilePlan(loaded.config, pipeline);
  const startedAt = new Date();
  const lock = PipelineLock.acquire(loaded.dataDir, pipeline, {
    run_id: newRunId(startedAt),
    started_at: startedAt.toISOString(),
    driver: "stream",
  });
  const summary: StreamSummary = {
    pipeline,
    started_at: startedAt.toISOString(),
    finished_at: startedAt.toISOString(),
    batches: 0,
    failed: 0,
    rows: { extracted: 0, written: 0, quarantined: 0 },
  };
  let source: StreamSource | undefined;
  try {
    const stateStore = new StateStore(loaded.dataDir);
    const committed = stateStore.load(pipeline).position;
    const after = committed === undefined ? undefined : String(committed);
    if (after !== undefined) summary.position = after;
    source = await openStreamSource(plan.config.source, pipeline, after, options.stop);
    log.info(`streaming ${source.name} after position ${after ?? "(start)"}`);
    let previous = new Ledger(loaded.dataDir).lastSucceeded(pipeline);
    let failures = 0;
    // While a failing message is being isolated: the position the first failed batch ended at.
    let isolating: string | undefined;
    const config = plan.config.source as {
      max_deliveries?: number;
      compact_every?: number;
      compact_min_files?: number;
    };
    let sinceCompaction = 0;
    // Batches a sink may hold: pending at start (an earlier worker's), or an attempt reached the sinks.
    const reachedSinks = new Set<string>();
    const inherited = pendingBatch(stateStore.load(pipeline))?.batch_id;
    if (inherited) reachedSinks.add(inherited);
    const failure = {
      dataDir: loaded.dataDir,
      pipeline,
      stateStore,
      source,
      log,
      maxDeliveries: config.max_deliveries ?? 5,
      now: () => new Date(),
      mayHaveWritten: (batchId: string) => reachedSinks.has(batchId),
    };
    while (!options.stop.aborted && (options.maxBatches === undefined || summary.batches < options.maxBatches)) {
      const pending = pendingBatch(stateStore.load(pipeline));
      if (!pending && !(await source.fill())) break;
      const lag = await source.lag().catch(() => undefined);
      const record = await keepAlive(source, () =>
        runOnce(loaded, plan, {
          log,
          liveSource: source,
          processingType: "streaming",
          ...(previous ? { previous } : {}),
          ...(lag ? { lag } : {}),
        }),
      );
      options.onBatch?.(record);
      if ((record.commits ?? []).length > 0 && record.batch_id) reachedSinks.add(record.batch_id);
      count(summary, record);
      const position = record.state?.position;
      if (record.status === "succeeded") {
        failures = 0;
        reachedSinks.clear();
        previous = record;
        if (position !== undefined) await source.commit(String(position));
        if (config.compact_every && ++sinceCompaction >= config.compact_every) {
          sinceCompaction = 0;
          await compactLake(loaded.dataDir, plan.config.sinks, record.run_id, config.compact_min_files ?? 10, log);
        }
        summary.position = position === undefined ? summary.position : String(position);
        summary.lag = lag;
        if (isolating !== undefined && position !== undefined && !source.before(String(position), isolating)) {
          isolating = undefined;
          source.resetLimit();
        }
        continue;
      }
      failures++;
      const next = await afterFailure(failure, record, failures);
      if (next.action === "isolate") {
        isolating ??= next.until;
        failures = 0;
        continue;
      }
      if (next.action === "dead-lettered") {
        failures = 0;
        summary.dead_lettered = (summary.dead_lettered ?? 0) + 1;
        summary.position = next.position;
        continue;
      }
      const wait = Math.min(1000 * 2 ** Math.min(failures - 1, 5), MAX_BACKOFF_MS);
      log.error(`micro-batch failed (${record.error?.message ?? record.status}); trying it again in ${wait} ms`);
      await sleep(wait, options.stop);
    }
  } finally {
    await source?.close().catch(() => undefined);
    lock.release();
    summary.finished_at = new Date().toISOString();
  }
  return summary;
}

/** Runs `fn`, telling the broker every 30 s that the messages in flight are still being worked on. */
async function keepAlive<T>(source: StreamSource, fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => void source.working().catch(() => undefined), 30_000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

function count(summary: StreamSummary, record: RunRecord): void {
  summary.batches++;
  if (record.status !== "succeeded") {
    summary.failed++;
    return;
  }
  summary.rows.extracted += record.rows.extracted;
  summary.rows.written += record.rows.written;
  summary.rows.quarantined += record.rows.quarantined;
}

function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, ms);
    stop.addEventListener("abort", () => {
      clearTimeout(timer);
      done();
    });
  });
}
