import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** A broker a test file talks to. */
export interface TestBroker {
  /** `nats://127.0.0.1:PORT` or `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops a server this helper started (and deletes its files); a no-op for the machine's shared one. */
  stop(): Promise<void>;
}

/** A private broker a test owns: it may restart it mid-stream (same port, same data). */
export interface RestartableBroker extends TestBroker {
  readonly port: number;
  /**
   * Stops the server (SIGTERM, waits for exit), runs `whileDown` if given, then starts it again on the
   * same port and data directory and waits until it answers.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

export type BrokerKind = "nats" | "redis";

const BINARY: Record<BrokerKind, string> = { nats: "nats-server", redis: "redis-server" };
const SHARED: Record<BrokerKind, string> = { nats: "127.0.0.1:4222", redis: "127.0.0.1:6379" };
const LABEL: Record<BrokerKind, string> = { nats: "NATS", redis: "Redis" };

/** What a test prints when it skips because neither the machine's broker nor its binary is there. */
export function skipMessage(kind: BrokerKind): string {
  const bin = BINARY[kind];
  return `${LABEL[kind]} tests skipped: no server at ${SHARED[kind]} and no ${bin} binary (apt-get install ${bin})`;
}

/** The error thrown in CI (or by withPrivate*) when the server binary is missing. */
export function missingBinaryError(kind: BrokerKind): Error {
  const bin = BINARY[kind];
  return new Error(
    `${bin} is missing: ${LABEL[kind]} tests need it on PATH or in /usr/sbin (install the apt package \`${bin}\`)`,
  );
}

/** A name no other test process uses: `${prefix}-${pid}-${random}` (streams, subjects, keys). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** The absolute path of an executable on PATH or in the usual sbin/bin folders, or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/bin",
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---- child-process bookkeeping: started servers never outlive the test process ----

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooked = false;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort: a server killed a moment ago may still be writing
    }
  }
  tempDirs.clear();
}

/** A fresh temp dir `${tmpdir()}/${prefix}XXXXXX`, also deleted on process exit if still there. */
export function makeTempDir(prefix: string): string {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Deletes a dir made by {@link makeTempDir}. */
export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
  // A signal that would end the process skips 'exit': kill the servers first, then, when no one else
  // handles the signal, re-raise it so the default action (terminate) still happens.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAll();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** A running server process started by {@link spawnServer}. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited (immediately if it already has). */
  exited(): Promise<void>;
  /** SIGTERM, wait up to `graceMs` for exit, then SIGKILL. */
  terminate(graceMs?: number): Promise<void>;
}

/** Spawns `bin args` with stdin ignored and stdout/stderr appended to `logFile`; killed on process exit. */
export function spawnServer(bin: string, args: string[], logFile: string): ServerProcess {
  hookExit();
  const fd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(bin, args, { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  live.add(child);
  let exitedFlag = false;
  const exitPromise = new Promise<void>((done) => {
    child.once("exit", () => {
      exitedFlag = true;
      live.delete(child);
      done();
    });
    child.once("error", () => {
      exitedFlag = true;
      live.delete(child);
      done();
    });
  });
  child.unref();
  return {
    child,
    exited: () => exitPromise,
    async terminate(graceMs = 10_000) {
      if (exitedFlag) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      try {
        await exitPromise;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Polls `probe` until it returns true (max `timeoutMs`). Fails early when the process exits, quoting the
 * end of its log.
 */
export async function waitUntilAnswers(
  what: string,
  server: ServerProcess,
  logFile: string,
  probe: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void server.exited().then(() => {
    gone = true;
  });
  for (;;) {
    if (gone) throw new Error(`${what} exited before it answered:\n${logTail(logFile)}`);
    if (await probe()) return;
    if (Date.now() > deadline) {
      await server.terminate(2000);
      throw new Error(`${what} did not answer within ${timeoutMs} ms:\n${logTail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function logTail(logFile: string): string {
  if (!existsSync(logFile)) return "(no log)";
  return readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n");
}
