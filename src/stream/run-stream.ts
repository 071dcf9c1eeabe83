import type { LoadedConfig } from "../config/load-config.js";
import { compilePlan } from "../plan/batch-plan.js";
import type { RunRecord } from "../plan/run-record.js";
import { newRunId } from "../runner/run-id.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { runSlot, type SlotEnv, sleep } from "./run-slot.js";
import {
  clearStandby,
  leaseFreeSlot,
  leaseSlot,
  markStandby,
  type SlotLease,
  slotLimit,
  slotsToAdopt,
  standbyWaiting,
} from "./stream-slots.js";
import type { StreamSummary } from "./stream-summary.js";

export type { StreamSummary } from "./stream-summary.js";

export interface StreamOptions {
  /** Aborting it stops the stream at the next micro-batch boundary (SIGINT/SIGTERM). */
  readonly stop: AbortSignal;
  readonly log?: Logger;
  /** Stop after this many micro-batches (tests, benches). */
  readonly maxBatches?: number;
  /** Called with each micro-batch's record. */
  readonly onBatch?: (record: RunRecord) => void;
  /** How often a worker looks for slots a stopped worker left (default 2 s). */
  readonly adoptEveryMs?: number;
}

/**
 * `sluice stream PIPELINE`: one worker of the pipeline's stream, running until `stop` aborts.
 *
 * Several workers share a pipeline through slots (stream-slots.ts): each takes the lowest free
 * slot and streams it (runSlot: micro-batches through the batch plan, committed one worker at a
 * time). A Redis group hands new entries to whichever slot reads first; a NATS stream has one slot
 * per partition subject (`partitions:`), and a worker finding every partition taken waits as a
 * standby. Every `adoptEveryMs` a worker looks for slots whose worker is gone (its lock free) and
 * takes them over: a Redis slot until the messages its consumer had been given are committed
 * (the pending batch with its id, then the rest), a NATS partition for good.
 */
export async function runStream(
  loaded: LoadedConfig,
  pipeline: string,
  options: StreamOptions,
): Promise<StreamSummary> {
  const log = options.log ?? silentLogger();
  const plan = compilePlan(loaded.config, pipeline);
  const startedAt = new Date();
  const summary: StreamSummary = {
    pipeline,
    started_at: startedAt.toISOString(),
    finished_at: startedAt.toISOString(),
    batches: 0,
    failed: 0,
    rows: { extracted: 0, written: 0, quarantined: 0 },
  };
  // Ends the adopted slots when the worker's own slot ends (stopped, or maxBatches reached).
  const done = new AbortController();
  const stop = AbortSignal.any([options.stop, done.signal]);
  const env: SlotEnv = {
    loaded,
    plan,
    holder: { run_id: newRunId(startedAt), started_at: startedAt.toISOString(), driver: "stream" },
    log,
    stop,
    summary,
    ...(options.maxBatches !== undefined ? { maxBatches: options.maxBatches } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  };
  const limit = slotLimit(plan.config.source);
  const slots = new WorkerSlots(env, limit);
  try {
    const own = await firstSlot(env, limit);
    if (!own) return summary;
    summary.slot = own.slot;
    const mine = runSlot(env, own, false);
    const adopting = slots.adoptLoop(options.adoptEveryMs ?? 2_000);
    await mine.finally(() => done.abort());
    await adopting;
  } finally {
    done.abort();
    await slots.settled();
    clearStandby(loaded.dataDir, pipeline);
    summary.finished_at = new Date().toISOString();
  }
  return summary;
}

/** The worker's own slot: the lowest free one, waiting as a standby while all are held. */
async function firstSlot(env: SlotEnv, limit: number | undefined): Promise<SlotLease | undefined> {
  const { dataDir } = env.loaded;
  let told = false;
  while (!env.stop.aborted) {
    const lease = leaseFreeSlot(dataDir, env.plan.pipeline, env.holder, limit);
    if (lease) {
      clearStandby(dataDir, env.plan.pipeline);
      return lease;
    }
    markStandby(dataDir, env.plan.pipeline);
    if (!told) {
      env.log.warn(
        env.plan.config.source.type === "nats"
          ? `every partition of pipeline ${env.plan.pipeline} (${limit}) has a worker; waiting as a standby until one is free (more partitions: \`partitions:\` in the source, and publish with ?partitions=N)`
          : `pipeline ${env.plan.pipeline} has its worker (a ${env.plan.config.source.type} source is read by one); waiting as a standby until it stops`,
      );
      told = true;
    }
    await sleep(1_000, env.stop);
  }
  return undefined;
}

/** A slot drained by this worker is looked at again after this long (a worker may have used it since). */
const RECHECK_RETIRED_MS = 60_000;

/**
 * The slots a worker took over from workers that stopped. A Redis slot is drained and retired; a
 * NATS partition is streamed until a standby worker shows up, which it is then given back to.
 */
class WorkerSlots {
  private readonly running = new Map<number, { done: Promise<void>; stop: AbortController }>();
  /** Redis slots this worker drained: looked at again only after a while (slot 0 always counts as known). */
  private readonly retired = new Map<number, number>();

  constructor(
    private readonly env: SlotEnv,
    private readonly limit: number | undefined,
  ) {}

  async adoptLoop(everyMs: number): Promise<void> {
    const { env } = this;
    while (!env.stop.aborted) {
      await sleep(everyMs, env.stop);
      if (env.stop.aborted) return;
      this.giveBack();
      this.adopt();
    }
  }

  /** Takes over every free slot a stopped worker left. */
  private adopt(): void {
    const { env } = this;
    const { dataDir } = env.loaded;
    const held = new Set([env.summary.slot ?? 0, ...this.running.keys()]);
    for (const slot of slotsToAdopt(dataDir, env.plan.pipeline, this.limit, held)) {
      if (Date.now() - (this.retired.get(slot) ?? 0) < RECHECK_RETIRED_MS) continue;
      // A partition is only taken while no standby waits for it (it would be given back at once).
      if (this.limit !== undefined && standbyWaiting(dataDir, env.plan.pipeline)) return;
      const lease = leaseSlot(dataDir, env.plan.pipeline, slot, env.holder);
      if (!lease) continue;
      env.log.info(`taking over slot ${slot} of pipeline ${env.plan.pipeline}: no worker holds it`);
      env.summary.adopted = [...new Set([...(env.summary.adopted ?? []), slot])];
      const stop = new AbortController();
      const slotEnv = { ...env, stop: AbortSignal.any([env.stop, stop.signal]) };
      const done = runSlot(slotEnv, lease, this.limit === undefined)
        .catch((err: unknown) => env.log.error(`slot ${slot}: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          this.running.delete(slot);
          if (this.limit === undefined) this.retired.set(slot, Date.now());
        });
      this.running.set(slot, { done, stop });
    }
  }

  /** A NATS partition taken over goes back when a standby waits: one per round. */
  private giveBack(): void {
    if (this.limit === undefined || !standbyWaiting(this.env.loaded.dataDir, this.env.plan.pipeline)) return;
    const [slot, running] = [...this.running.entries()].at(-1) ?? [];
    if (slot === undefined || !running) return;
    this.env.log.info(`giving slot ${slot} of pipeline ${this.env.plan.pipeline} back: a standby worker waits`);
    running.stop.abort();
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
