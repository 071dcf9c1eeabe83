import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { safeSegment } from "../util/confine.js";
import { sweepTemp } from "../util/sweep-temp.js";

/**
 * One alert condition while it holds (or after it resolved): a rule of a pipeline that fired, from
 * the first run (or freshness check) that fired it to the first one where it held again. Kept
 * under `<data_dir>/alerts/<pipeline>.json`, so separate processes (five `sluice run`s, `sluice
 * alerts` from cron, `sluice serve`) see one incident and notify once when it starts and once when
 * it resolves.
 */
export interface Incident {
  /** Stable for the rule: sha256 of pipeline and rule key, 16 hex digits (Alertmanager's fingerprint). */
  readonly fingerprint: string;
  readonly pipeline: string;
  /** The rule's key (`failed above 0`, `freshness ...`). */
  readonly rule: string;
  readonly metric: string;
  status: "firing" | "resolved";
  readonly startsAt: string;
  /** When it resolved. */
  endsAt?: string;
  /** The latest evaluation that fired it. */
  lastSeenAt: string;
  /** Evaluations (runs, checks) that fired it. */
  count: number;
  value: number | null;
  /** The latest firing message. */
  message: string;
  /** The run that opened it (absent for a freshness check). */
  readonly run_id?: string;
}

/** A notification that could not be delivered: tried again at the pipeline's next evaluation. */
export interface PendingNotification {
  readonly url: string;
  readonly status: "firing" | "resolved";
  readonly incident: Incident;
  readonly since: string;
}

/** A rule judged once: `fired` set when it fired (its value and message). */
export interface Judgement {
  readonly key: string;
  readonly metric: string;
  readonly fired?: { readonly value: number | null; readonly message: string };
}

interface PipelineAlerts {
  open: Incident[];
  /** The latest resolved incidents, newest last (at most KEEP_RESOLVED). */
  resolved: Incident[];
  outbox: PendingNotification[];
}

const KEEP_RESOLVED = 50;
const OUTBOX_MAX = 100;
const OUTBOX_MAX_AGE_MS = 86_400_000;
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

export function fingerprintOf(pipeline: string, key: string): string {
  return createHash("sha256").update(`${pipeline}\0${key}`).digest("hex").slice(0, 16);
}

/**
 * The incident state of every pipeline, one file each (atomic writes), each change under a small
 * lock file (`<pipeline>.lock`, O_EXCL, holder pid; taken over when its process is gone or it is
 * older than 30 s): a run and a freshness check of the same pipeline may judge at the same moment.
 */
export class IncidentStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "alerts");
  }

  private file(pipeline: string): string {
    return join(this.dir, `${safeSegment("pipeline name", pipeline)}.json`);
  }

  private read(pipeline: string): PipelineAlerts {
    const file = this.file(pipeline);
    if (!existsSync(file)) return { open: [], resolved: [], outbox: [] };
    const data = JSON.parse(readFileSync(file, "utf8")) as Partial<PipelineAlerts>;
    return { open: data.open ?? [], resolved: data.resolved ?? [], outbox: data.outbox ?? [] };
  }

  /**
   * Applies one evaluation's judgements: a fired rule without an open incident opens one, a fired
   * rule with one counts on it, a rule that held resolves its open incident; rules not judged change
   * nothing. Returns what started and what resolved (each to be notified once) and the notifications
   * an earlier evaluation could not deliver (taken out of the outbox: requeue those that fail again).
   */
  update(
    pipeline: string,
    judged: readonly Judgement[],
    now: Date,
    runId?: string,
  ): { opened: Incident[]; resolved: Incident[]; retry: PendingNotification[] } {
    return this.locked(pipeline, () => {
      const state = this.read(pipeline);
      const at = now.toISOString();
      const opened: Incident[] = [];
      const resolved: Incident[] = [];
      for (const j of judged) {
        const fingerprint = fingerprintOf(pipeline, j.key);
        const current = state.open.find((i) => i.fingerprint === fingerprint);
        if (j.fired && current) {
          Object.assign(current, {
            lastSeenAt: at,
            count: current.count + 1,
            value: j.fired.value,
            message: j.fired.message,
          });
        } else if (j.fired) {
          const incident: Incident = {
            fingerprint,
            pipeline,
            rule: j.key,
            metric: j.metric,
            status: "firing",
            startsAt: at,
            lastSeenAt: at,
            count: 1,
            value: j.fired.value,
            message: j.fired.message,
            ...(runId ? { run_id: runId } : {}),
          };
          state.open.push(incident);
          opened.push(incident);
        } else if (current) {
          Object.assign(current, { status: "resolved", endsAt: at });
          state.open = state.open.filter((i) => i !== current);
          state.resolved = [...state.resolved, current].slice(-KEEP_RESOLVED);
          resolved.push(current);
        }
      }
      const retry = state.outbox.filter((n) => now.getTime() - Date.parse(n.since) < OUTBOX_MAX_AGE_MS);
      const changed = opened.length + resolved.length + state.outbox.length > 0 || judged.some((j) => j.fired);
      state.outbox = [];
      // Rules that held with nothing open change nothing: no write (a stream judges every micro-batch).
      if (changed) this.write(pipeline, state);
      return { opened, resolved, retry };
    });
  }

  /** Keeps notifications that could not be delivered for the pipeline's next evaluation. */
  requeue(pipeline: string, failed: readonly PendingNotification[]): void {
    if (failed.length === 0) return;
    this.locked(pipeline, () => {
      const state = this.read(pipeline);
      state.outbox = [...state.outbox, ...failed].slice(-OUTBOX_MAX);
      this.write(pipeline, state);
    });
  }

  /** Open incidents of one pipeline, or of every pipeline with a file. */
  open(pipelines: readonly string[]): Incident[] {
    return pipelines.flatMap((p) => this.read(p).open);
  }

  /** Incidents that resolved, newest last. */
  resolved(pipelines: readonly string[]): Incident[] {
    return pipelines
      .flatMap((p) => this.read(p).resolved)
      .sort((a, b) => (a.endsAt ?? "").localeCompare(b.endsAt ?? ""));
  }

  private write(pipeline: string, state: PipelineAlerts): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.file(pipeline), `${JSON.stringify(state, null, 2)}\n`);
  }

  private locked<T>(pipeline: string, fn: () => T): T {
    mkdirSync(this.dir, { recursive: true });
    sweepTemp(this.dir);
    const lock = join(this.dir, `${safeSegment("pipeline name", pipeline)}.lock`);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const fd = openSync(lock, "wx");
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (staleLock(lock) || Date.now() > deadline) rmSync(lock, { force: true });
        else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

/** A lock whose holder is gone, or older than LOCK_STALE_MS (a change takes milliseconds). */
function staleLock(lock: string): boolean {
  try {
    const pid = Number(readFileSync(lock, "utf8"));
    if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) return true;
    if (!Number.isInteger(pid) || pid <= 0) return false; // being written
    process.kill(pid, 0);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ESRCH" || code === "ENOENT";
  }
}
