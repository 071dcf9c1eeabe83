import type { LoadedConfig } from "../config/load-config.js";
import type { BatchPlan } from "../plan/batch-plan.js";
import type { RunRecord } from "../plan/run-record.js";
import { Ledger } from "../runner/ledger.js";
import { pendingBatch } from "../runner/pending-batch.js";
import type { LockHolder } from "../runner/pipeline-lock.js";
import { runOnce } from "../runner/run-pipeline.js";
import { StateStore } from "../runner/state-store.js";
import type { StreamSource } from "../sources/stream/stream-source.js";
import type { Logger } from "../util/logger.js";
import { afterFailure } from "./after-failure.js";
import { takeCommitTurn } from "./commit-turn.js";
import { compactLake } from "./compact-lake.js";
import { openStreamSource } from "./open-stream-source.js";
import type { SlotLease } from "./stream-slots.js";
import type { StreamSummary } from "./stream-summary.js";
import { tailTap } from "./tail-tap.js";

/** What every slot of one worker shares. */
export interface SlotEnv {
  readonly loaded: LoadedConfig;
  readonly plan: BatchPlan;
  readonly holder: Omit<LockHolder, "pid" | "host">;
  readonly log: Logger;
  /** Aborts at the next micro-batch boundary. */
  readonly stop: AbortSignal;
  readonly maxBatches?: number;
  readonly onBatch?: (record: RunRecord) => void;
  readonly summary: StreamSummary;
}

/** Longest wait between attempts of a micro-batch that keeps failing. */
const MAX_BACKOFF_MS = 30_000;

/**
 * Streams one slot (see stream-slots.ts) until `stop` aborts, or, with `drain` (a slot a dead
 * worker left), until the messages its consumer had been given are committed: then the slot is
 * retired (its consumer and state removed; slot 0's state stays).
 *
 * Contract (the commit protocol of docs/ARCHITECTURE.md, per micro-batch): the batch's intent (its id
 * from the stream positions, and the position it ends at) is in the slot's state before any sink
 * writes; the state moves to that position only after every sink holds the batch, and only then
 * are the messages acknowledged to the broker. Each micro-batch runs under the pipeline's lock
 * (takeCommitTurn), so the workers of a pipeline commit one at a time. Killed at any moment, the
 * slot's next holder starts its consumer after the committed position and first finishes the pending
 * batch with the same messages and id, which sinks that hold it skip. A micro-batch that fails is
 * tried again (same messages, same id) with backoff; the stream does not skip it.
 */
export async function runSlot(env: SlotEnv, lease: SlotLease, drain: boolean): Promise<void> {
  const { loaded, plan, log, stop } = env;
  const stateStore = new StateStore(loaded.dataDir);
  const committed = stateStore.load(lease.stateKey).position;
  const after = committed === undefined ? undefined : String(committed);
  let source: StreamSource | undefined;
  let drained = false;
  try {
    source = await openStreamSource(plan.config.source, plan.pipeline, after, stop, { slot: lease.slot, drain });
    const what = `${source.name}${lease.slot === 0 ? "" : ` (slot ${lease.slot})`}`;
    log.info(
      `${drain ? "finishing the messages a stopped worker left on" : "streaming"} ${what} after position ${after ?? "(start)"}`,
    );
    drained = await streamBatches(env, lease, source, stateStore);
    if (drained && drain) {
      await source.retire();
      if (lease.slot !== 0) stateStore.remove(lease.stateKey);
      log.info(`${what}: every message the stopped worker held is committed; slot retired`);
    }
  } finally {
    await source?.close().catch(() => undefined);
    lease.lock.release();
  }
}

/** The micro-batch loop; true when the source ran dry (a drained slot), false when stopped. */
async function streamBatches(
  env: SlotEnv,
  lease: SlotLease,
  source: StreamSource,
  stateStore: StateStore,
): Promise<boolean> {
  const { loaded, plan, log, stop, summary } = env;
  const config = plan.config.source as { max_deliveries?: number; compact_every?: number; compact_min_files?: number };
  let previous = new Ledger(loaded.dataDir).lastSucceeded(plan.pipeline);
  // `sluice tail`: samples each committed micro-batch for the tails that ask (one readdir when none).
  const onValidated = tailTap(loaded.dataDir, plan.pipeline);
  let failures = 0;
  // While a failing message is being isolated: the position the first failed batch ended at.
  let isolating: string | undefined;
  let sinceCompaction = 0;
  // Batches a sink may hold: pending at start (an earlier worker's), or an attempt reached the sinks.
  const reachedSinks = new Set<string>();
  const inherited = pendingBatch(stateStore.load(lease.stateKey))?.batch_id;
  if (inherited) reachedSinks.add(inherited);
  const failure = {
    dataDir: loaded.dataDir,
    pipeline: plan.pipeline,
    stateKey: lease.stateKey,
    stateStore,
    source,
    log,
    maxDeliveries: config.max_deliveries ?? 5,
    now: () => new Date(),
    deadLetter: plan.config.dead_letter,
    mayHaveWritten: (batchId: string) => reachedSinks.has(batchId),
  };
  while (!stop.aborted && (env.maxBatches === undefined || summary.batches < env.maxBatches)) {
    const pending = pendingBatch(stateStore.load(lease.stateKey));
    if (!pending && !(await source.fill())) return !stop.aborted;
    const lag = await source.lag().catch(() => undefined);
    const record = await keepAlive(source, async () => {
      const turn = await takeCommitTurn(loaded.dataDir, plan.pipeline, lease.slot, env.holder, stop);
      if (!turn) return undefined;
      try {
        const ran = await runOnce(loaded, plan, {
          log,
          liveSource: source,
          processingType: "streaming",
          stateKey: lease.stateKey,
          onValidated,
          ...(previous ? { previous } : {}),
          ...(lag ? { lag } : {}),
        });
        if (ran.status === "succeeded" && config.compact_every && ++sinceCompaction >= config.compact_every) {
          sinceCompaction = 0;
          await compactLake(loaded.dataDir, plan.config.sinks, ran.run_id, config.compact_min_files ?? 10, log);
        }
        return ran;
      } finally {
        turn.release();
      }
    });
    if (!record) return false;
    env.onBatch?.(record);
    if ((record.commits ?? []).length > 0 && record.batch_id) reachedSinks.add(record.batch_id);
    count(summary, record);
    const position = record.state?.position;
    if (record.status === "succeeded") {
      failures = 0;
      reachedSinks.clear();
      previous = record;
      if (position !== undefined) await source.commit(String(position));
      if (lease.slot === summary.slot) summary.position = position === undefined ? summary.position : String(position);
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
      if (lease.slot === summary.slot) summary.position = next.position;
      continue;
    }
    const wait = retryWait(failures, record.error?.retry_after_ms);
    log.error(`micro-batch failed (${record.error?.message ?? record.status}); trying it again in ${wait} ms`);
    await sleep(wait, stop);
  }
  return false;
}

/**
 * How long a slot waits before trying a failed micro-batch again: 1 s doubling to 30 s, or, when the
 * error knows when a retry can succeed (an open circuit breaker's cooldown), that long (at least
 * 0.5 s): a stream whose API is back resumes within one cooldown, not after its own long backoff.
 */
export function retryWait(failures: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 500), MAX_BACKOFF_MS);
  return Math.min(1000 * 2 ** Math.min(failures - 1, 5), MAX_BACKOFF_MS);
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
  if (record.rows.dead_lettered !== undefined)
    summary.rows.dead_lettered = (summary.rows.dead_lettered ?? 0) + record.rows.dead_lettered;
}

/** Waits `ms`, or less when `stop` aborts (its listener removed either way). */
export function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const wake = () => {
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      stop.removeEventListener("abort", wake);
      done();
    }, ms);
    stop.addEventListener("abort", wake, { once: true });
  });
}
