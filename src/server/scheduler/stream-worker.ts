import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PipelineConfig } from "../../config/spec.js";
import type { RunRecord } from "../../plan/run-record.js";
import { safeSegment } from "../../util/confine.js";
import type { Logger } from "../../util/logger.js";
import type { PipelineStatus, ServeEvent } from "../serve-context.js";
import { RestartBackoff } from "./backoff.js";
import { CLI_MAIN, forwardLines } from "./spawn-run.js";

export interface StreamWorkerOptions {
  readonly name: string;
  readonly config: PipelineConfig;
  readonly configPath: string;
  readonly dataDir: string;
  readonly log: Logger;
  readonly now: () => Date;
  readonly emit: (event: ServeEvent) => void;
  readonly cli?: string;
  readonly env?: NodeJS.ProcessEnv;
}

type WorkerState = "running" | "backoff" | "stopped";

/**
 * A streaming pipeline under `sluice serve`: one `sluice stream <pipeline> -c <config>` child,
 * supervised. Whenever it exits (a crash, SIGKILL, a broker it gave up on) while the server runs, it is
 * started again after a backoff (1 s doubling to 60 s, back to 1 s after a healthy minute): the worker
 * resumes from its committed position, so nothing is lost or written twice (the stream driver's
 * commit protocol). Each state change is a `worker` event. stop() sends SIGTERM, which the worker
 * honours at a micro-batch boundary, and waits for its exit. Lag: the newest micro-batch record's.
 */
export class StreamWorker {
  private child: ChildProcess | undefined;
  private state: WorkerState = "stopped";
  private since: Date;
  private restarts = 0;
  private lastExit: string | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly backoff = new RestartBackoff();

  constructor(private readonly o: StreamWorkerOptions) {
    this.since = o.now();
  }

  start(): void {
    if (this.stopping) return;
    const child = spawn(process.execPath, [this.o.cli ?? CLI_MAIN, "stream", this.o.name, "-c", this.o.configPath], {
      env: { ...process.env, ...this.o.env },
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    this.child = child;
    const startedAt = Date.now();
    // The worker's log lines go to the server's stderr whole (already structured), never torn mid-line.
    if (child.stderr) forwardLines(child.stderr, (line) => process.stderr.write(`${line}\n`));
    this.exited = new Promise((done) => {
      child.once("error", (err) => this.o.log.error(`pipeline ${this.o.name}: worker could not start: ${err.message}`));
      child.once("close", (code, signal) => {
        this.onExit(signal ? `killed by ${signal}` : `exited with code ${code}`, Date.now() - startedAt);
        done();
      });
    });
    this.setState("running", `pid ${child.pid}`);
  }

  private onExit(how: string, ranMs: number): void {
    this.child = undefined;
    this.lastExit = how;
    if (this.stopping) {
      this.setState("stopped", how);
      return;
    }
    const delay = this.backoff.next(ranMs);
    this.restarts++;
    this.o.log.warn(`pipeline ${this.o.name}: stream worker ${how}; restarting in ${delay / 1000} s`);
    this.setState("backoff", `${how}; restart in ${delay / 1000} s`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start();
    }, delay);
  }

  private setState(state: WorkerState, detail: string): void {
    this.state = state;
    this.since = this.o.now();
    this.o.emit({ type: "worker", pipeline: this.o.name, at: this.since.toISOString(), state, detail });
  }

  status(): PipelineStatus {
    const lag = newestLag(this.o.dataDir, this.o.name);
    return {
      name: this.o.name,
      kind: "stream",
      after: [],
      worker: {
        state: this.state,
        ...(this.child?.pid !== undefined ? { pid: this.child.pid } : {}),
        restarts: this.restarts,
        since: this.since.toISOString(),
        ...(this.lastExit ? { lastExit: this.lastExit } : {}),
        ...(lag ? { lag } : {}),
      },
    };
  }

  /** SIGTERM to the worker (it stops at a micro-batch boundary); resolves once it exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.child) this.child.kill("SIGTERM");
    else if (this.state !== "stopped") this.setState("stopped", "sluice serve stopped");
    await this.exited;
  }
}

/**
 * The newest micro-batch's lag (how far behind the stream it started), read from the newest record
 * in `runs/<pipeline>/` alone (run ids sort by time; a long stream has thousands of records).
 */
function newestLag(dataDir: string, pipeline: string): RunRecord["lag"] {
  try {
    const dir = join(dataDir, "runs", safeSegment("pipeline name", pipeline));
    const newest = readdirSync(dir)
      .filter((f) => f.endsWith(".json") && !f.startsWith("."))
      .sort()
      .at(-1);
    return newest ? (JSON.parse(readFileSync(join(dir, newest), "utf8")) as RunRecord).lag : undefined;
  } catch {
    return undefined;
  }
}
