import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LockHolder, PipelineLock } from "../runner/pipeline-lock.js";

/** A marker not refreshed for this long belongs to a waiter that died or stopped waiting. */
const MARKER_STALE_MS = 2_000;
const POLL_MS = 5;

/**
 * Takes the pipeline's lock for one micro-batch's commit, waiting while another worker holds it.
 * Returns undefined when `stop` aborts first (nothing of the batch ran yet).
 *
 * Contract: the workers of one pipeline (processes, or slots of one process) commit one at a time,
 * so every sink sees their micro-batches in one order (the basis check of an incremental write, a
 * warehouse file only one process may open, Delta commits that would otherwise conflict), and take
 * turns: a worker that finds the lock taken leaves a marker (`locks/<pipeline>.next`, its mtime
 * refreshed while it waits) and a worker about to take the lock lets a live marked waiter go first,
 * so none starves while another always has a batch ready. A stale marker (its waiter gone) is ignored.
 */
export async function takeCommitTurn(
  dataDir: string,
  pipeline: string,
  slot: number,
  holder: Omit<LockHolder, "pid" | "host">,
  stop: AbortSignal,
): Promise<PipelineLock | undefined> {
  const marker = join(dataDir, "locks", `${pipeline}.next`);
  const me = `${process.pid}:${slot}`;
  let marked = false;
  try {
    for (;;) {
      if (stop.aborted) return undefined;
      const waiting = readMarker(marker);
      if (waiting === undefined || waiting === me) {
        const lock = PipelineLock.tryAcquire(dataDir, pipeline, holder);
        if (lock) return lock;
        marked = mark(marker, me, marked);
      }
      await new Promise((done) => setTimeout(done, POLL_MS));
    }
  } finally {
    if (marked && readMarker(marker) === me) rmSync(marker, { force: true });
  }
}

/** Who waits for the next turn (`<pid>:<slot>`), unless the marker is stale or absent. */
function readMarker(marker: string): string | undefined {
  try {
    if (Date.now() - statSync(marker).mtimeMs > MARKER_STALE_MS) return undefined;
    return readFileSync(marker, "utf8");
  } catch {
    return undefined;
  }
}

/** Leaves (or refreshes) this worker's marker; called only when there is none or it is this worker's. */
function mark(marker: string, me: string, marked: boolean): boolean {
  try {
    if (marked && readMarker(marker) === me) {
      const now = new Date();
      utimesSync(marker, now, now);
    } else {
      writeFileSync(marker, me);
    }
    return true;
  } catch {
    return marked;
  }
}
