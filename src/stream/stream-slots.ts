import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SourceConfig } from "../config/spec.js";
import { type LockHolder, PipelineLock } from "../runner/pipeline-lock.js";
import { StateStore } from "../runner/state-store.js";
import { escapeRegExp } from "../util/escape-regexp.js";

/**
 * A stream worker's share of a pipeline: slot k, held for the worker's life by the slot's lock
 * (`locks/<pipeline>.slot-<k>.lock`), with its own state (slot 0: the pipeline's, so one worker
 * is what it always was; slot k: `<pipeline>.slot-<k>`) and its own consumer at the broker (a
 * Redis consumer name, a NATS durable and partition subject). Progress is per slot: "everything
 * this slot's consumer delivered up to P is committed", which is what lets one ack cover a batch.
 */
export interface SlotLease {
  readonly slot: number;
  readonly stateKey: string;
  readonly lock: PipelineLock;
}

/** The state name of a slot. */
export function slotStateKey(pipeline: string, slot: number): string {
  return slot === 0 ? pipeline : `${pipeline}.slot-${slot}`;
}

/**
 * How many slots a source has: a NATS stream as many as its partitions (one subject each), a Redis
 * group any number (the group shares new entries among its consumers): undefined; the in-process
 * pubsub topic one (every worker would generate the whole topic).
 */
export function slotLimit(config: SourceConfig): number | undefined {
  if (config.type === "nats") return config.partitions;
  if (config.type === "redis_stream") return undefined;
  return 1;
}

/** Leases `slot` if no live worker holds it. */
export function leaseSlot(
  dataDir: string,
  pipeline: string,
  slot: number,
  holder: LockHolderInput,
): SlotLease | undefined {
  const lock = PipelineLock.tryAcquire(dataDir, pipeline, holder, slot);
  return lock ? { slot, stateKey: slotStateKey(pipeline, slot), lock } : undefined;
}

/** Leases the lowest free slot (below `limit` when the source has a fixed number), or undefined. */
export function leaseFreeSlot(
  dataDir: string,
  pipeline: string,
  holder: LockHolderInput,
  limit: number | undefined,
): SlotLease | undefined {
  // Without a limit the search ends at the first slot nobody ever used, which is always free.
  for (let slot = 0; limit === undefined || slot < limit; slot++) {
    const lease = leaseSlot(dataDir, pipeline, slot, holder);
    if (lease) return lease;
  }
  return undefined;
}

/**
 * The slots other workers may have left behind: every slot below `limit`, or (no limit) slot 0 and
 * every slot with a state or a lock file; those in `held` excepted.
 */
export function slotsToAdopt(
  dataDir: string,
  pipeline: string,
  limit: number | undefined,
  held: Set<number>,
): number[] {
  const slots = new Set<number>();
  if (limit !== undefined) for (let k = 0; k < limit; k++) slots.add(k);
  else {
    slots.add(0);
    const pattern = new RegExp(`^${escapeRegExp(pipeline)}\\.slot-(\\d+)(\\.lock)?$`);
    const locks = join(dataDir, "locks");
    const names = [...new StateStore(dataDir).names(), ...(existsSync(locks) ? readdirSync(locks) : [])];
    for (const name of names) {
      const m = pattern.exec(name);
      if (m) slots.add(Number(m[1]));
    }
  }
  return [...slots].filter((k) => !held.has(k)).sort((a, b) => a - b);
}

/** A standby's marker not refreshed for this long belongs to a worker that is gone. */
const STANDBY_STALE_MS = 5_000;

/**
 * Marks (or refreshes) this process as a standby of the pipeline: a worker that found every slot
 * held. A worker holding slots it took over gives one back when it sees a live standby.
 */
export function markStandby(dataDir: string, pipeline: string): void {
  const dir = join(dataDir, "locks");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${pipeline}.standby-${process.pid}`), "");
}

export function clearStandby(dataDir: string, pipeline: string): void {
  rmSync(join(dataDir, "locks", `${pipeline}.standby-${process.pid}`), { force: true });
}

/** Whether another process waits as a standby of the pipeline (its marker refreshed lately). */
export function standbyWaiting(dataDir: string, pipeline: string): boolean {
  const dir = join(dataDir, "locks");
  if (!existsSync(dir)) return false;
  const prefix = `${pipeline}.standby-`;
  let waiting = false;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || name === `${prefix}${process.pid}`) continue;
    const file = join(dir, name);
    try {
      if (Date.now() - statSync(file).mtimeMs < STANDBY_STALE_MS) waiting = true;
      else rmSync(file, { force: true }); // its worker is gone
    } catch {
      // removed meanwhile
    }
  }
  return waiting;
}

type LockHolderInput = Omit<LockHolder, "pid" | "host">;
