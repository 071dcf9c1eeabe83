import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RunRecord, RunStatus } from "../../plan/run-record.js";
import { isRunId, segmentProblem } from "../../util/confine.js";

/**
 * What the dashboard keeps of one run in memory: the fields lists, the home page, the charts and
 * /metrics use. The full record is read from its file on demand (`RunIndex.record`).
 */
export interface RunSummary {
  readonly run_id: string;
  readonly pipeline: string;
  readonly status: RunStatus;
  readonly processing_type: "batch" | "streaming";
  readonly started_at: string;
  readonly finished_at: string;
  /** finished_at - started_at. */
  readonly duration_ms: number;
  readonly rows: {
    readonly extracted: number;
    readonly filtered: number;
    readonly valid: number;
    readonly quarantined: number;
    readonly duplicates_dropped: number;
    readonly written: number;
    readonly dead_lettered: number;
  };
  readonly pass_rate: number;
  readonly duplicate_rate: number;
  readonly null_rate: Readonly<Record<string, number>>;
  readonly alerts: number;
  readonly lag_messages?: number;
  readonly lag_seconds?: number;
  /** The error's message, first line, for lists. */
  readonly error?: string;
}

export interface RunFilter {
  readonly pipeline?: string;
  readonly status?: string;
  /** ISO instants (or prefixes): started_at >= from, started_at < to. */
  readonly from?: string;
  readonly to?: string;
}

/** Keeps `summaries` of one pipeline folder and what is known of the folder. */
interface FolderIndex {
  readonly seen: Set<string>;
  runs: RunSummary[];
  mtimeMs: number;
}

/** A folder modified this recently is listed again at the next refresh (a rename within the same mtime tick). */
const SETTLE_MS = 2000;

/**
 * An incremental index of the run ledger (`<data_dir>/runs/<pipeline>/<run_id>.json`), good for
 * tens of thousands of runs. Contract:
 * - `refresh()` lists a pipeline folder only when its mtime moved (or it moved within SETTLE_MS of the
 *   last look) and parses only file names it has not seen; ledger files are written once by rename
 *   (a later rewrite, e.g. retention notes, does not change the summary fields).
 * - A file that does not parse is skipped and tried again at the next refresh.
 * - Lists are oldest first (started_at, then run_id), as `Ledger.list`.
 * - `onAdd` listeners see every summary once, in the order added (the /metrics counters).
 */
export class RunIndex {
  private readonly folders = new Map<string, FolderIndex>();
  private all: RunSummary[] | undefined;
  private readonly listeners: ((run: RunSummary) => void)[] = [];

  constructor(private readonly dataDir: string) {}

  /** Calls `listener` for every run already indexed and every run added later. */
  onAdd(listener: (run: RunSummary) => void): void {
    for (const run of this.list()) listener(run);
    this.listeners.push(listener);
  }

  /** Picks up runs written since the last refresh. Cheap when nothing changed (one stat per pipeline). */
  refresh(): void {
    const root = join(this.dataDir, "runs");
    if (!existsSync(root)) return;
    for (const name of readdirSync(root)) {
      if (segmentProblem(name)) continue;
      const dir = join(root, name);
      let mtimeMs: number;
      try {
        const st = statSync(dir);
        if (!st.isDirectory()) continue;
        mtimeMs = st.mtimeMs;
      } catch {
        continue;
      }
      const folder = this.folders.get(name) ?? { seen: new Set<string>(), runs: [], mtimeMs: -1 };
      this.folders.set(name, folder);
      if (folder.mtimeMs === mtimeMs && Date.now() - mtimeMs > SETTLE_MS) continue;
      folder.mtimeMs = mtimeMs;
      this.scan(dir, folder);
    }
  }

  /** Parses the files of `dir` not seen yet into `folder`. */
  private scan(dir: string, folder: FolderIndex): void {
    const added: RunSummary[] = [];
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".json") || f.startsWith(".") || folder.seen.has(f)) continue;
      if (!isRunId(f.slice(0, -".json".length))) continue;
      try {
        added.push(summarize(JSON.parse(readFileSync(join(dir, f), "utf8")) as RunRecord));
        folder.seen.add(f);
      } catch {
        // A file we cannot read now: tried again at the next refresh.
      }
    }
    if (added.length === 0) return;
    added.sort(byStart);
    const last = folder.runs.at(-1);
    folder.runs =
      last && byStart(last, added[0]!) > 0 ? [...folder.runs, ...added].sort(byStart) : folder.runs.concat(added);
    this.all = undefined;
    for (const run of added) for (const l of this.listeners) l(run);
  }

  pipelines(): string[] {
    return [...this.folders.keys()].sort();
  }

  /** Runs matching `filter`, oldest first. */
  list(filter: RunFilter = {}): RunSummary[] {
    const base = filter.pipeline ? (this.folders.get(filter.pipeline)?.runs ?? []) : this.merged();
    if (!filter.status && !filter.from && !filter.to) return base;
    return base.filter(
      (r) =>
        (!filter.status || r.status === filter.status) &&
        (!filter.from || r.started_at >= filter.from) &&
        (!filter.to || r.started_at < filter.to),
    );
  }

  /** The newest run of a pipeline, and its newest success. */
  latest(pipeline: string): { last?: RunSummary; lastSuccess?: RunSummary } {
    const runs = this.folders.get(pipeline)?.runs ?? [];
    let lastSuccess: RunSummary | undefined;
    for (let i = runs.length - 1; i >= 0 && !lastSuccess; i--)
      if (runs[i]!.status === "succeeded") lastSuccess = runs[i];
    return { ...(runs.length ? { last: runs.at(-1)! } : {}), ...(lastSuccess ? { lastSuccess } : {}) };
  }

  /** Whether the ledger holds run `runId` of `pipeline` (the quarantine browser's `committed`). */
  has(pipeline: string, runId: string): boolean {
    return this.folders.get(pipeline)?.seen.has(`${runId}.json`) ?? false;
  }

  /** The full record of a run, read from its file; undefined when there is none. */
  record(pipeline: string, runId: string): RunRecord | undefined {
    if (segmentProblem(pipeline) || !isRunId(runId)) return undefined;
    const file = join(this.dataDir, "runs", pipeline, `${runId}.json`);
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, "utf8")) as RunRecord;
  }

  private merged(): RunSummary[] {
    if (!this.all) this.all = [...this.folders.values()].flatMap((f) => f.runs).sort(byStart);
    return this.all;
  }
}

function byStart(a: RunSummary, b: RunSummary): number {
  return a.started_at.localeCompare(b.started_at) || a.run_id.localeCompare(b.run_id);
}

/** The summary of a record (missing fields of older records read as 0). */
export function summarize(r: RunRecord): RunSummary {
  const rows = r.rows ?? ({} as Partial<RunRecord["rows"]>);
  const duration = Date.parse(r.finished_at) - Date.parse(r.started_at);
  return {
    run_id: r.run_id,
    pipeline: r.pipeline,
    status: r.status,
    processing_type: r.processing_type,
    started_at: r.started_at,
    finished_at: r.finished_at,
    duration_ms: Number.isFinite(duration) ? Math.max(0, duration) : 0,
    rows: {
      extracted: rows.extracted ?? 0,
      filtered: rows.filtered ?? 0,
      valid: rows.valid ?? 0,
      quarantined: rows.quarantined ?? 0,
      duplicates_dropped: rows.duplicates_dropped ?? 0,
      written: rows.written ?? 0,
      dead_lettered: rows.dead_lettered ?? 0,
    },
    pass_rate: r.metrics?.validation_pass_rate ?? 1,
    duplicate_rate: r.metrics?.duplicate_rate ?? 0,
    null_rate: r.metrics?.null_rate ?? {},
    alerts: r.alerts?.length ?? 0,
    ...(r.lag ? { lag_messages: r.lag.messages } : {}),
    ...(r.lag?.seconds !== undefined ? { lag_seconds: r.lag.seconds } : {}),
    ...(r.error ? { error: r.error.message.split("\n")[0]! } : {}),
  };
}
