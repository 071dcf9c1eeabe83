import { spawn } from "node:child_process";
import type { PipelineConfig } from "../config/spec.js";
import type { RunRecord } from "../plan/run-record.js";
import type { Logger } from "../util/logger.js";
import { redactDeep, redactSecrets } from "../util/redact.js";

export type HookResult = NonNullable<RunRecord["hooks"]>[number];

/** Bytes of a hook's stderr kept for the warning. */
const STDERR_TAIL = 2000;

/**
 * Runs the pipeline's `on_success` (a succeeded run, after its state is committed) or `on_failure`
 * (a run that did not succeed, after its record is written) command with `/bin/sh -c` in the config's
 * folder: the run record (JSON, redacted, as `sluice runs show --json` prints it) on stdin, and
 * SLUICE_RUN_ID, SLUICE_PIPELINE, SLUICE_STATUS in its environment. Its stdout goes to the log (info),
 * line by line. A hook still running after `hook_timeout_seconds` is killed (its process group).
 * Never throws and never changes the run's status: a non-zero exit, a kill or a failure to start is a
 * warning with the exit code and the tail of its stderr. Returns undefined when no hook applies.
 */
export async function runHook(
  config: PipelineConfig,
  record: RunRecord,
  cwd: string,
  log: Logger,
): Promise<{ result: HookResult; warning?: string } | undefined> {
  const event = record.status === "succeeded" ? "on_success" : "on_failure";
  const command = config[event];
  if (!command) return undefined;
  const t0 = performance.now();
  const child = spawn("/bin/sh", ["-c", command], {
    cwd,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: {
      ...process.env,
      SLUICE_RUN_ID: record.run_id,
      SLUICE_PIPELINE: record.pipeline,
      SLUICE_STATUS: record.status,
    },
  });
  let stderr = "";
  let timedOut = false;
  child.stderr.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-STDERR_TAIL * 2);
  });
  let partial = "";
  child.stdout.on("data", (d: Buffer) => {
    const lines = (partial + d.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) log.info(`${event}: ${redactSecrets(line)}`);
  });
  child.stdin.on("error", () => undefined); // a hook that does not read its stdin
  child.stdin.end(`${JSON.stringify(redactDeep(record))}\n`);
  const timer = setTimeout(() => {
    timedOut = true;
    kill(child.pid);
  }, config.hook_timeout_seconds * 1000);
  const outcome = await new Promise<{ code: number | null; signal: string | null; error?: Error }>((done) => {
    child.on("error", (error) => done({ code: null, signal: null, error }));
    child.on("close", (code, signal) => done({ code, signal }));
  });
  clearTimeout(timer);
  if (partial.trim()) log.info(`${event}: ${redactSecrets(partial)}`);
  const ms = Math.round(performance.now() - t0);
  const result: HookResult = {
    event,
    command: redactSecrets(command),
    exit_code: outcome.code,
    ms,
    ...(outcome.signal ? { signal: outcome.signal } : {}),
  };
  if (outcome.code === 0 && !timedOut) {
    log.info(`${event} hook finished in ${ms} ms`);
    return { result };
  }
  const why = outcome.error
    ? `could not start: ${outcome.error.message}`
    : timedOut
      ? `killed after ${config.hook_timeout_seconds} s (hook_timeout_seconds)`
      : outcome.code === null
        ? `killed by ${outcome.signal}`
        : `exited with code ${outcome.code}`;
  const tail = redactSecrets(stderr.trim()).slice(-STDERR_TAIL);
  const warning = `${event} hook ${why} (the run's status stays ${record.status})${tail ? `: ${tail}` : ""}`;
  log.warn(warning);
  return { result, warning };
}

/** Kills the hook's process group (the shell and what it started). */
function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
