import type { LoadedConfig } from "../../src/config/load-config.js";
import type { RunRecord } from "../../src/plan/run-record.js";
import type { PipelineStatus, Scheduler, ServeEvent } from "../../src/server/serve-context.js";
import { runCli } from "./cli.js";

/**
 * A minimal Scheduler for the dashboard's tests that really runs pipelines: `runNow` starts the
 * built CLI (`sluice run NAME --json`) as a child process and announces run-started / run-ended
 * (the record the CLI printed) as the real scheduler does. No schedule: nothing runs by itself.
 * `nextRun` can be set per pipeline to show the home page's "late" flag.
 */
export class CliScheduler implements Scheduler {
  private readonly listeners = new Set<(event: ServeEvent) => void>();
  private readonly running = new Map<string, { run_id: string; started_at: string }>();
  /** The runs started by runNow, awaitable by tests. */
  readonly finished: Promise<RunRecord | undefined>[] = [];
  nextRun: Record<string, string> = {};
  private beat = new Date();

  constructor(
    private readonly loaded: LoadedConfig,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  pipelines(): PipelineStatus[] {
    return Object.entries(this.loaded.config.pipelines).map(([name, p]) => {
      const running = this.running.get(name);
      const next = this.nextRun[name];
      return {
        name,
        kind: ["nats", "redis_stream", "pubsub"].includes(p.source.type) ? "stream" : "batch",
        after: [],
        ...(next ? { nextRun: next, schedule: "*/5 * * * *" } : {}),
        ...(running ? { running: { ...running, trigger: "manual" as const } } : {}),
      };
    });
  }

  async runNow(pipeline: string): Promise<{ started: boolean; refused?: string }> {
    const busy = this.running.get(pipeline);
    if (busy) return { started: false, refused: busy.run_id };
    const at = new Date().toISOString();
    this.running.set(pipeline, { run_id: "(starting)", started_at: at });
    this.emit({ type: "run-started", pipeline, at, trigger: "manual" });
    this.finished.push(this.run(pipeline));
    return { started: true };
  }

  private async run(pipeline: string): Promise<RunRecord | undefined> {
    const r = await runCli(["run", pipeline, "--json", "-c", this.loaded.path], {
      cwd: this.loaded.dir,
      env: this.env,
    });
    this.running.delete(pipeline);
    this.beat = new Date();
    try {
      const record = JSON.parse(r.stdout) as RunRecord;
      this.emit({ type: "run-ended", pipeline, at: record.finished_at, record });
      return record;
    } catch {
      return undefined;
    }
  }

  on(listener: (event: ServeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ServeEvent): void {
    for (const l of this.listeners) l(event);
  }

  heartbeat(): Date {
    return this.beat;
  }

  async stop(): Promise<void> {
    await Promise.all(this.finished);
  }
}
