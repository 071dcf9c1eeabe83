import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The built CLI: beside this module when it runs from dist/ (dist/server/http/ -> dist/cli/main.js);
 * when it runs from src/ (tests through tsx/vitest), the repository's dist/cli/main.js.
 */
export const CLI_PATH =
  [new URL("../../cli/main.js", import.meta.url), new URL("../../../dist/cli/main.js", import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((p) => existsSync(p)) ?? fileURLToPath(new URL("../../cli/main.js", import.meta.url));

export interface CliOutcome {
  readonly code: number | null;
  readonly stdout: string;
  /** The last 4 KB of stderr (the CLI's error and hint are at its end). */
  readonly stderr: string;
}

/**
 * Runs the real `sluice` CLI (`node dist/cli/main.js ARGS`) in `cwd` and waits for it. The dashboard's
 * replay buttons use it: a replay is a run like any other, with its own lock, ledger record and exit
 * code, and the server's process is not tied up by its DuckDB session.
 */
export function spawnCli(args: readonly string[], cwd: string): Promise<CliOutcome> {
  if (!existsSync(CLI_PATH)) {
    return Promise.resolve({ code: null, stdout: "", stderr: `the built CLI is missing (${CLI_PATH}): npm run build` });
  }
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd,
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4096);
    });
    child.on("error", (err) => done({ code: null, stdout, stderr: String(err) }));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}
