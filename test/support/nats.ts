import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
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

/** The machine's shared NATS server (JetStream enabled). Never stopped by a test. */
export const SHARED_NATS_URL = "nats://127.0.0.1:4222";

/** The machine's `nats-server` binary (PATH or /usr/sbin), or undefined. */
export function natsServerBinary(): string | undefined {
  return findBinary("nats-server");
}

/**
 * The machine's NATS at 127.0.0.1:4222 when it answers with JetStream enabled, else a private
 * `nats-server -js` started for this test file (stop it in afterAll). Undefined when neither is there
 * outside CI (skip with `skipMessage("nats")`); in CI a missing binary throws.
 */
export async function testNats(): Promise<TestBroker | undefined> {
  if (await natsAnswers(SHARED_NATS_URL, true)) return { url: SHARED_NATS_URL, stop: async () => {} };
  if (!natsServerBinary()) {
    if (process.env.CI) throw missingBinaryError("nats");
    return undefined;
  }
  return withPrivateNats();
}

/**
 * Always starts a private `nats-server -js` on a free port with its own store dir. `restart()` keeps the
 * port and the store dir, so JetStream streams and their messages survive it. `stop()` deletes the dir.
 * Throws when there is no nats-server binary.
 */
export async function withPrivateNats(): Promise<RestartableBroker> {
  const bin = natsServerBinary();
  if (!bin) throw missingBinaryError("nats");
  const port = await freePort();
  const root = makeTempDir("sluice-nats-");
  const storeDir = join(root, "store");
  const logFile = join(root, "nats-server.log");
  const url = `nats://127.0.0.1:${port}`;
  const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir];

  let server: ServerProcess | undefined;
  const start = async (): Promise<void> => {
    const s = spawnServer(bin, args, logFile);
    server = s;
    await waitUntilAnswers(`nats-server on port ${port}`, s, logFile, () => natsAnswers(url, true));
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
      if (stopped) throw new Error("withPrivateNats: restart() after stop()");
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

/** True when a NATS server answers at `url` (and, with `jetStream`, has JetStream enabled). */
export async function natsAnswers(url: string, jetStream: boolean): Promise<boolean> {
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    nc = await connect({ servers: url, timeout: 1000, reconnect: false });
    if (jetStream) {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      await jsm.getAccountInfo();
    }
    return true;
  } catch {
    return false;
  } finally {
    await nc?.close().catch(() => undefined);
  }
}
