import { type ChildProcess, spawn } from "node:child_process";
import { CLI } from "./cli.js";

/** One JSON log line of `sluice serve` (its events carry `event`, `pipeline`, `trigger`, `status`...). */
export interface ServeLine {
  readonly level: string;
  readonly msg: string;
  readonly event?: string;
  readonly pipeline?: string;
  readonly trigger?: string;
  readonly run_id?: string;
  readonly status?: string;
  readonly state?: string;
  readonly detail?: string;
}

/** A running `sluice serve --no-http` child and what it logged. */
export interface ServeProcess {
  readonly child: ChildProcess;
  /** Every JSON line logged so far, in order. */
  lines(): ServeLine[];
  /** The raw stderr so far (quoted when a step fails). */
  stderr(): string;
  /** Resolves with the first line (at index >= `from`) matching `pred`; fails after `ms` or when serve exits. */
  waitFor(what: string, pred: (l: ServeLine) => boolean, ms?: number, from?: number): Promise<ServeLine>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `sluice serve --no-http` in `dir` (its sluice.yaml), logging JSON lines at LOG_LEVEL info. */
export function startServe(dir: string, env: NodeJS.ProcessEnv = {}): ServeProcess {
  const child = spawn(process.execPath, [CLI, "serve", "--no-http"], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const parsed: ServeLine[] = [];
  let pending = "";
  let exit: number | null | undefined;
  child.stdout!.resume();
  child.stderr!.on("data", (d: Buffer) => {
    text += d.toString();
    const lines = (pending + d.toString()).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      try {
        parsed.push(JSON.parse(line) as ServeLine);
      } catch {
        // a partial line from a worker's relayed output
      }
    }
  });
  const exited = new Promise<number | null>((done) =>
    child.once("exit", (code, signal) => {
      exit = code;
      text += `\n[serve exited: code ${code}, signal ${signal}]`;
      done(code);
    }),
  );
  const waitFor = async (what: string, pred: (l: ServeLine) => boolean, ms = 30_000, from = 0) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const hit = parsed.slice(from).find(pred);
      if (hit) return hit;
      if (exit !== undefined) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `${what}: not seen${exit !== undefined ? " (serve exited)" : ` in ${ms} ms`}; serve stderr:\n${text.slice(-8000)}`,
    );
  };
  return {
    child,
    lines: () => parsed,
    stderr: () => text,
    waitFor,
    stop: async (signal = "SIGTERM") => {
      if (exit === undefined) child.kill(signal);
      return exited;
    },
  };
}
