import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../util/atomic.js";

/** What `schedule-state.json` keeps per pipeline: the last scheduled time the server handled. */
export interface PipelineScheduleState {
  /** ISO time of the last scheduled fire (run, skipped as busy, or caught up). */
  readonly last_fire: string;
}

/**
 * `<data_dir>/serve/schedule-state.json`: the last fire time of each scheduled pipeline, written
 * atomically on every fire, so a server started later knows which scheduled times passed while none
 * ran (missed-fires.ts). A missing or unreadable file is an empty state: nothing is reported missed.
 */
export class ScheduleState {
  private readonly file: string;
  private readonly fires: Map<string, PipelineScheduleState>;

  constructor(dataDir: string) {
    this.file = join(dataDir, "serve", "schedule-state.json");
    this.fires = new Map(Object.entries(readState(this.file)));
  }

  lastFire(pipeline: string): Date | undefined {
    const at = this.fires.get(pipeline)?.last_fire;
    return at ? new Date(at) : undefined;
  }

  /** Records a fire of `pipeline` at `at` and writes the file (aside + rename). */
  recordFire(pipeline: string, at: Date): void {
    this.fires.set(pipeline, { last_fire: at.toISOString() });
    mkdirSync(join(this.file, ".."), { recursive: true });
    writeFileAtomic(this.file, `${JSON.stringify(Object.fromEntries(this.fires), null, 2)}\n`);
  }
}

function readState(file: string): Record<string, PipelineScheduleState> {
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as Record<string, PipelineScheduleState>) : {};
  } catch {
    return {};
  }
}
