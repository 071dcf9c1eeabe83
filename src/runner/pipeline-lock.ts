import {
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { asSluiceError, SluiceError } from "../errors.js";
import { asidePath } from "../util/atomic.js";
import { safeSegment } from "../util/confine.js";

/** What a lock file says about its holder. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly run_id: string;
  readonly started_at: string;
  /** `run`, `replay`, `expire`, `stream`, or `serve` (a run `sluice serve` started). */
  readonly driver: string;
  /** Why the driver started the run (`sluice serve`: schedule, manual, after, retry, catch-up). */
  readonly trigger?: string;
}

/** A takeover guard older than this belongs to a process that died inside the takeover itself. */
const GUARD_STALE_MS = 10_000;

/**
 * One run of a pipeline at a time (SPEC section 8), shared by every driver (`sluice run`, replay,
 * and the coming `sluice serve` and stream workers): `<data_dir>/locks/<pipeline>.lock`, created
 * exclusively, holding the holder's pid, host, run id and start time.
 *
 * A second acquire fails at once with a SluiceError naming the holder. A lock whose process is gone
 * (SIGKILL, power loss) is taken over: under a guard folder made with mkdir (atomic, exclusive), the
 * lock is read again and replaced only if its holder is still dead, so two processes racing for a
 * stale lock never both win. Locks of another host are never taken over (their pids mean nothing
 * here). `release` removes the lock only while it is still this holder's.
 */
export class PipelineLock {
  private constructor(
    private readonly file: string,
    readonly holder: LockHolder,
  ) {}

  /**
   * Takes the pipeline's lock, or with `slot` one of its stream worker slots
   * (`<pipeline>.slot-<k>.lock`: a stream worker holds its slot for its life, and the pipeline's lock
   * only while it commits a micro-batch).
   */
  static acquire(
    dataDir: string,
    pipeline: string,
    holder: Omit<LockHolder, "pid" | "host">,
    slot?: number,
  ): PipelineLock {
    const dir = join(dataDir, "locks");
    mkdirSync(dir, { recursive: true });
    const stem = safeSegment("pipeline name", pipeline);
    const file = join(dir, slot === undefined ? `${stem}.lock` : `${stem}.slot-${slot}.lock`);
    const mine: LockHolder = { pid: process.pid, host: hostname(), ...holder };
    const text = `${JSON.stringify(mine)}\n`;
    for (let tries = 0; tries < 3; tries++) {
      let created: boolean;
      try {
        created = createWhole(file, text);
      } catch (err) {
        // A full disk, a read-only lake: nothing ran, and the message names the lock's path.
        const e = asSluiceError(err, "runner", "lock");
        throw new SluiceError(`${e.message} (taking the lock ${file})`, { ...e, hint: e.hint ?? "", cause: err });
      }
      if (created) return new PipelineLock(file, mine);
      const held = readHolder(file);
      if (held && isAlive(held)) throw busy(pipeline, held, slot);
      if (takeOver(file, held, text)) return new PipelineLock(file, mine);
    }
    const held = readHolder(file);
    throw busy(pipeline, held, slot);
  }

  /** `acquire`, or undefined when a live process holds the lock (other errors are thrown). */
  static tryAcquire(
    dataDir: string,
    pipeline: string,
    holder: Omit<LockHolder, "pid" | "host">,
    slot?: number,
  ): PipelineLock | undefined {
    try {
      return PipelineLock.acquire(dataDir, pipeline, holder, slot);
    } catch (err) {
      if (err instanceof LockBusyError) return undefined;
      throw err;
    }
  }

  /**
   * Who holds the pipeline's lock (or a stream slot's) now: the holder when its process is alive,
   * undefined when the lock is free or stale. A look, not a claim: it may change right after.
   */
  static holderOf(dataDir: string, pipeline: string, slot?: number): LockHolder | undefined {
    const stem = safeSegment("pipeline name", pipeline);
    const held = readHolder(join(dataDir, "locks", slot === undefined ? `${stem}.lock` : `${stem}.slot-${slot}.lock`));
    return held && isAlive(held) ? held : undefined;
  }

  /** Removes the lock if this process still holds it. */
  release(): void {
    const held = readHolder(this.file);
    if (held && held.pid === this.holder.pid && held.run_id === this.holder.run_id) {
      try {
        unlinkSync(this.file);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Creates `file` holding `text`, or returns false when it exists. Written aside and hard-linked into
 * place (link fails when the name is taken), so the lock never exists half-written: an empty or torn
 * lock file can only be what a kill left, never a holder still writing it.
 */
function createWhole(file: string, text: string): boolean {
  const aside = asidePath(file);
  try {
    writeFileSync(aside, text);
    linkSync(aside, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return false;
  } finally {
    rmSync(aside, { force: true });
  }
}

/** Replaces a stale lock under the guard; false when another process got there first. */
function takeOver(file: string, stale: LockHolder | undefined, text: string): boolean {
  const guard = `${file}.takeover`;
  try {
    mkdirSync(guard);
  } catch {
    if (Date.now() - mtimeOf(guard) > GUARD_STALE_MS) rmdirQuietly(guard);
    return false;
  }
  try {
    const now = readHolder(file);
    // Someone replaced it since we looked (and is alive), or released it: not ours to take.
    if (now && (isAlive(now) || now.pid !== stale?.pid || now.run_id !== stale?.run_id)) return false;
    const aside = asidePath(file);
    writeFileSync(aside, text);
    renameSync(aside, file);
    return true;
  } finally {
    rmdirQuietly(guard);
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LockHolder;
  } catch {
    // Absent, or torn by a kill while it was written: nobody can be holding it.
    return undefined;
  }
}

function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The lock is held by a live process. */
class LockBusyError extends SluiceError {}

/**
 * `pipeline \`p\` is already running: run R (serve, schedule, pid P on H, started T)`: the running
 * run's id, its driver (and trigger), process and start time (`sluice serve` refuses a run with it too).
 */
export function describeBusy(pipeline: string, held: LockHolder | undefined, slot?: number): string {
  const driver = held?.trigger ? `${held.driver}, ${held.trigger}` : held?.driver;
  const who = held
    ? `run ${held.run_id} (${driver}, pid ${held.pid} on ${held.host}, started ${held.started_at})`
    : "another process";
  const what = slot === undefined ? `pipeline \`${pipeline}\`` : `stream slot ${slot} of pipeline \`${pipeline}\``;
  return `${what} is already running: ${who}`;
}

function busy(pipeline: string, held: LockHolder | undefined, slot?: number): SluiceError {
  return new LockBusyError(describeBusy(pipeline, held, slot), {
    component: "runner",
    stage: "lock",
    hint: "wait for it to finish (`sluice runs` shows it when it does); a lock left by a process that died is taken over by the next run",
  });
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function rmdirQuietly(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // gone already
  }
}
