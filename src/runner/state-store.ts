import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { safeSegment } from "../util/confine.js";
import { sweepTemp } from "../util/sweep-temp.js";

/**
 * Per-pipeline state (watermarks, stream positions) in
 * `<data_dir>/state/<pipeline>.json`. Contract: `commit` is called only after
 * every sink of a run committed, and replaces the file atomically.
 */
export class StateStore {
  constructor(private readonly dataDir: string) {}

  private file(pipeline: string): string {
    return join(this.dataDir, "state", `${safeSegment("pipeline name", pipeline)}.json`);
  }

  load(pipeline: string): Record<string, unknown> {
    const f = this.file(pipeline);
    return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>) : {};
  }

  commit(pipeline: string, state: Record<string, unknown>): void {
    sweepTemp(join(this.dataDir, "state"), `${pipeline}.json`);
    writeFileAtomic(this.file(pipeline), `${JSON.stringify(state, null, 2)}\n`);
  }

  /** Removes a state that is done with (a drained stream slot's); a later `load` gives `{}`. */
  remove(pipeline: string): void {
    rmSync(this.file(pipeline), { force: true });
  }

  /** The names of the states kept (file stems under `state/`). */
  names(): string[] {
    const dir = join(this.dataDir, "state");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length));
  }
}
