import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RunRecord } from "../../plan/run-record.js";
import type { RunTrigger } from "../serve-context.js";

/** The built CLI the server starts its runs and workers with (dist/cli/main.js beside dist/server/). */
export const CLI_MAIN = fileURLToPath(new URL("../../cli/main.js", import.meta.url));

/** How a spawned run ended. */
export type RunOutcome =
  /** The run printed its record (whatever its status). */
  | { readonly kind: "ended"; readonly record: RunRecord }
  /** The pipeline's lock was taken (a `sluice run` got there first): `reason` names the running run. */
  | { readonly kind: "refused"; readonly reason: string }
  /** The process died or failed without a record (killed, a config error): a failed record made here. */
  | { readonly kind: "crashed"; readonly record: RunRecord };

export interface SpawnRunOptions {
  readonly pipeline: string;
  readonly configPath: string;
  readonly trigger: RunTrigger;
  /** Each line the run logs on stderr (its structured log's `msg`, or the raw line). */
  readonly onLine: (line: string) => void;
  readonly cli?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A run in its own process, and its outcome once it exits. */
export interface SpawnedRun {
  readonly pid: number | undefined;
  readonly outcome: Promise<RunOutcome>;
}

/**
 * `sluice run <pipeline> --json -c <config>` as a child process (its memory is its own: the server's
 * stays flat however big the batch). SLUICE_SERVE_TRIGGER makes the run's lock say driver `serve` and
 * the trigger. The child is in its own process group: a terminal's Ctrl-C reaches only the server,
 * which lets the run finish. Never rejects: a spawn error is a `crashed` outcome.
 */
export function spawnRun(opts: SpawnRunOptions): SpawnedRun {
  const startedAt = new Date();
  const child = spawn(process.execPath, [opts.cli ?? CLI_MAIN, "run", opts.pipeline, "--json", "-c", opts.configPath], {
    env: { ...process.env, ...opts.env, SLUICE_SERVE_TRIGGER: opts.trigger },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const stdout: Buffer[] = [];
  const errorLines: string[] = [];
  child.stdout.on("data", (d: Buffer) => stdout.push(d));
  forwardLines(child.stderr, (line) => {
    if (line.startsWith("error: ")) errorLines.push(line.slice("error: ".length));
    opts.onLine(logMessage(line));
  });
  const outcome = new Promise<RunOutcome>((done) => {
    child.once("error", (err) => done(crashed(opts.pipeline, startedAt, `could not start the run: ${err.message}`)));
    child.once("close", (code, signal) => {
      const record = parseRecord(Buffer.concat(stdout).toString("utf8"));
      if (record) return done({ kind: "ended", record });
      const error = errorLines.join("; ");
      if (error.includes("is already running")) return done({ kind: "refused", reason: error });
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      done(crashed(opts.pipeline, startedAt, `the run ${how} without a record${error ? `: ${error}` : ""}`));
    });
  });
  return { pid: child.pid, outcome };
}

/** Calls `onLine` with each complete line of `stream` (and the last, unterminated one at its end). */
export function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = "";
  stream.on("data", (d: Buffer) => {
    const lines = (pending + d.toString("utf8")).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(line);
  });
  stream.on("end", () => {
    if (pending.trim()) onLine(pending);
  });
}

/** A pino JSON line's message (with its level when not info), else the line itself. */
function logMessage(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const { msg, level } = JSON.parse(line) as { msg?: unknown; level?: unknown };
    if (typeof msg !== "string") return line;
    return level && level !== "info" ? `${String(level)}: ${msg}` : msg;
  } catch {
    return line;
  }
}

function parseRecord(text: string): RunRecord | undefined {
  if (!text.trim()) return undefined;
  try {
    const parsed = JSON.parse(text) as RunRecord | RunRecord[];
    const record = Array.isArray(parsed) ? parsed[0] : parsed;
    return record && typeof record.status === "string" ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The record of a run that left none: failed, nothing written, the error saying what happened. */
function crashed(pipeline: string, startedAt: Date, message: string): RunOutcome {
  const record: RunRecord = {
    run_id: `serve-${startedAt.toISOString()}`,
    pipeline,
    status: "failed",
    processing_type: "batch",
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    attempts: 0,
    source: "",
    rows: { extracted: 0, filtered: 0, valid: 0, quarantined: 0, duplicates: 0, duplicates_dropped: 0, written: 0 },
    outputs: [],
    durations_ms: {},
    metrics: { validation_pass_rate: 1, null_rate: {}, unique: {}, row_count_delta: null, duplicate_rate: 0 },
    alerts: [],
    warnings: [],
    error: { message, component: "serve", stage: "run" },
  };
  return { kind: "crashed", record };
}
