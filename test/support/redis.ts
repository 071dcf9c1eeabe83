import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./ports.js";
import {
  findBinary,
  makeTempDir,
  missingBinaryError,
  type RestartableBroker,
  removeTempDir,
  type ServerProcess,
  spawnServer,
  type TestBroker,
  waitUntilAnswers,
} from "./server-process.js";

export { type RestartableBroker, skipMessage, type TestBroker, uniqueName } from "./server-process.js";

/** The machine's shared Redis. Never stopped by a test; use `uniqueName()` for keys/streams. */
export const SHARED_REDIS_URL = "redis://127.0.0.1:6379";

/** The machine's `redis-server` binary (PATH or /usr/sbin, /usr/bin), or undefined. */
export function redisServerBinary(): string | undefined {
  return findBinary("redis-server");
}

/**
 * The machine's Redis at 127.0.0.1:6379 when PING answers, else a private in-memory `redis-server`
 * (`--save "" --appendonly no`) started for this test file (stop it in afterAll). Undefined when neither
 * is there outside CI (skip with `skipMessage("redis")`); in CI a missing binary throws.
 */
export async function testRedis(): Promise<TestBroker | undefined> {
  if (await redisAnswers(SHARED_REDIS_URL)) return { url: SHARED_REDIS_URL, stop: async () => {} };
  if (!redisServerBinary()) {
    if (process.env.CI) throw missingBinaryError("redis");
    return undefined;
  }
  return startPrivateRedis(false);
}

/**
 * Always starts a private `redis-server` on a free port. Unlike testRedis()'s fallback it runs with
 * `--appendonly yes` in its own temp dir, so data written before `restart()` (same port, same dir) is
 * still there after it (SIGTERM makes Redis flush the AOF before exiting). `stop()` deletes the dir.
 * Throws when there is no redis-server binary.
 */
export function withPrivateRedis(): Promise<RestartableBroker> {
  return startPrivateRedis(true);
}

async function startPrivateRedis(persistent: boolean): Promise<RestartableBroker> {
  const bin = redisServerBinary();
  if (!bin) throw missingBinaryError("redis");
  const port = await freePort();
  const root = makeTempDir("sluice-redis-");
  const logFile = join(root, "redis-server.log");
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    persistent ? "yes" : "no",
    "--dir",
    root,
    "--daemonize",
    "no",
  ];

  let server: ServerProcess | undefined;
  const start = async (): Promise<void> => {
    const s = spawnServer(bin, args, logFile);
    server = s;
    await waitUntilAnswers(`redis-server on port ${port}`, s, logFile, () => redisAnswers(url));
  };
  const halt = async (): Promise<void> => {
    const s = server;
    server = undefined;
    await s?.terminate();
  };

  try {
    await start();
  } catch (err) {
    await halt();
    removeTempDir(root);
    throw err;
  }
  let stopped = false;
  return {
    url,
    port,
    async restart(whileDown) {
      if (stopped) throw new Error("withPrivateRedis: restart() after stop()");
      await halt();
      if (whileDown) await whileDown();
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt();
      removeTempDir(root);
    },
  };
}

/** True when a Redis server at `url` answers PING (and is done loading its data). */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    enableOfflineQueue: false,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
