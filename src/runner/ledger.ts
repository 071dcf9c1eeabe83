import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { redactDeep } from "../util/redact.js";
import type { RunRecord } from "./run-record.js";

/**
 * The run ledger: one JSON file per run under `<data_dir>/runs/<pipeline>/`.
 * Run ids sort by time, so listing a folder gives the history in order.
 * Records are written atomically and redacted.
 */
export class Ledger {
  constructor(private readonly dataDir: string) {}

  private dir(pipeline: string): string {
    return join(this.dataDir, "runs", pipeline);
  }

  save(record: RunRecord): void {
    const dir = this.dir(record.pipeline);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, `${record.run_id}.json`), `${JSON.stringify(redactDeep(record), null, 2)}\n`);
  }

  /** Runs of one pipeline (or all), oldest first. */
  list(pipeline?: string): RunRecord[] {
    const root = join(this.dataDir, "runs");
    if (!existsSync(root)) return [];
    const pipelines = pipeline ? [pipeline] : readdirSync(root);
    const records: RunRecord[] = [];
    for (const p of pipelines) {
      const dir = join(root, p);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        if (!f.endsWith(".json") || f.startsWith(".")) continue;
        records.push(JSON.parse(readFileSync(join(dir, f), "utf8")) as RunRecord);
      }
    }
    return records.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.run_id.localeCompare(b.run_id));
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
