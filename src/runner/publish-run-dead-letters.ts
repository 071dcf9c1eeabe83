import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { BatchOutcome } from "../plan/batch-outcome.js";
import { batchStagingDir } from "../plan/enrich-staging.js";
import type { RunRecord } from "../plan/run-record.js";
import { publish, removeQuietly } from "../util/atomic.js";
import { safeSegment } from "../util/confine.js";
import type { Logger } from "../util/logger.js";
import { pendingBatch } from "./pending-batch.js";
import type { StateStore } from "./state-store.js";

/**
 * `deadletter/<pipeline>/<batch_id>.rows.parquet`: the plan's dead letters of one batch (records an
 * enrichment could not take, rows a sink refused). `.rows.parquet` keeps them apart from a stream's
 * dead-lettered messages, `deadletter/<pipeline>/<batch>.parquet` (stream/dead-letter.ts).
 */
export function deadLetterFile(dataDir: string, pipeline: string, batchId: string): string {
  const name = batchId.replace(/[^\w.-]+/g, "_");
  return join(dataDir, "deadletter", safeSegment("pipeline", pipeline), `${name}.rows.parquet`);
}

/**
 * Publishes the batch's staged dead letters once every sink holds the batch (one rename, like the
 * quarantine file): a rerun of the batch writes the same file again. Sets `deadletter_path`.
 */
export function publishRunDeadLetters(
  dataDir: string,
  pipeline: string,
  batchId: string,
  staged: BatchOutcome["deadLetters"],
  record: RunRecord,
  log: Logger,
): void {
  if (!staged) {
    delete record.deadletter_path;
    return;
  }
  const target = deadLetterFile(dataDir, pipeline, batchId);
  mkdirSync(dirname(target), { recursive: true });
  publish(staged.path, target);
  record.deadletter_path = relative(dataDir, target).split(sep).join("/");
  log.warn(`dead-lettered ${staged.rows} rows -> ${record.deadletter_path}`);
}

/**
 * Removes the staging folders (`.staging/<pipeline>/<batch>/`, plan/enrich-staging.ts) of batches
 * that no state of the pipeline (its own, its stream slots') has pending: committed batches, and
 * batches whose every attempt failed and that will not come again under their id. Called under the
 * pipeline's lock before a run, so no batch is between its intent and its commit except the
 * pending ones. Costs one readdir when nothing is staged.
 */
export function sweepBatchStaging(dataDir: string, pipeline: string, states: StateStore): number {
  const root = dirname(batchStagingDir(dataDir, pipeline, "x"));
  if (!existsSync(root)) return 0;
  const names = readdirSync(root);
  if (names.length === 0) return 0;
  const keep = new Set<string>();
  for (const key of states.names()) {
    if (key !== pipeline && !key.startsWith(`${pipeline}.slot-`)) continue;
    const pending = pendingBatch(states.load(key));
    if (pending) keep.add(batchStagingDir(dataDir, pipeline, pending.batch_id));
  }
  let removed = 0;
  for (const name of names) {
    const dir = join(root, name);
    if (keep.has(dir)) continue;
    removeQuietly(dir);
    removed++;
  }
  return removed;
}

/** Removes a committed batch's staging folder. */
export function removeBatchStaging(dataDir: string, pipeline: string, batchId: string): void {
  removeQuietly(batchStagingDir(dataDir, pipeline, batchId));
}
