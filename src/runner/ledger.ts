import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RunRecord } from "../plan/run-record.js";
import { writeFileAtomic } from "../util/atomic.js";
import { isRunId, safeRunId, safeSegment, segmentProblem } from "../util/confine.js";
import { redactDeep } from "../util/redact.js";
import { sweepTemp } from "../util/sweep-temp.js";

/**
 * The run ledger: one JSON file per run under `<data_dir>/runs/<pipeline>/`.
 * Run ids sort by time, so listing a folder gives the history in order.
 * Records are written atomically and redacted; what an interrupted write left
 * (`.<id>.json.tmp-*`, e.g. on a full disk) is swept by the next save.
 */
export class Ledger {
  constructor(private readonly dataDir: string) {}

  private dir(pipeline: string): string {
    return join(this.dataDir, "runs", safeSegment("pipeline name", pipeline));
  }

  /** Where `record` is (or would be) saved. */
  fileOf(record: Pick<RunRecord, "pipeline" | "run_id">): string {
    return join(this.dir(record.pipeline), `${safeRunId(record.run_id)}.json`);
  }

  save(record: RunRecord): void {
    const dir = this.dir(record.pipeline);
    mkdirSync(dir, { recursive: true });
    sweepTemp(dir);
    writeFileAtomic(this.fileOf(record), `${JSON.stringify(redactDeep(record), null, 2)}\n`);
  }

  /** Whether the ledger holds a record of run `runId` of `pipeline` (whatever its status). */
  has(pipeline: string, runId: string): boolean {
    return isRunId(runId) && existsSync(this.fileOf({ pipeline, run_id: runId }));
  }

  /** Runs of one pipeline (or all), oldest first. */
  list(pipeline?: string): RunRecord[] {
    const root = join(this.dataDir, "runs");
    if (!existsSync(root)) return [];
    const pipelines = pipeline ? (segmentProblem(pipeline) ? [] : [pipeline]) : readdirSync(root);
    const records: RunRecord[] = [];
    for (const p of pipelines) {
      const dir = join(root, p);
      // Not a folder (something of the user's in its place): no records to read; saving says so.
      if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
      for (const f of readdirSync(dir)) {
        if (!f.endsWith(".json") || f.startsWith(".")) continue;
        records.push(JSON.parse(readFileSync(join(dir, f), "utf8")) as RunRecord);
      }
    }
    return records.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.run_id.localeCompare(b.run_id));
  }

  /**
   * The newest `n` runs of one pipeline, oldest first, reading only their files (run ids sort by
   * time): what a success_rate window needs after each micro-batch of a stream, without the whole ledger.
   */
  recent(pipeline: string, n: number): RunRecord[] {
    if (n <= 0 || segmentProblem(pipeline)) return [];
    const dir = join(this.dataDir, "runs", pipeline);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".json") && !f.startsWith("."))
      .sort()
      .slice(-n);
    return files.map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as RunRecord);
  }

  get(runId: string): RunRecord | undefined {
    return this.list().find((r) => r.run_id === runId);
  }

  /** The newest succeeded run of a pipeline. */
  lastSucceeded(pipeline: string): RunRecord | undefined {
    return this.list(pipeline)
      .filter((r) => r.status === "succeeded")
      .at(-1);
  }
}
