import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLI, projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { eventsYaml } from "./support/events-yaml.js";
import { natsServerBinary, withPrivateNats } from "./support/nats.js";
import { redisServerBinary, withPrivateRedis } from "./support/redis.js";
import { type RestartableBroker, skipMessage, uniqueName } from "./support/server-process.js";

// The broker restarts while `sluice stream` runs: the consumer reconnects with backoff and carries on
// from where it was; every message published before and after the restart lands exactly once (dedup
// none, so a redelivered message written twice would show as an extra row).

const BEFORE = 1000;
const AFTER = 1000;
const TOTAL = BEFORE + AFTER;

/** Message i: unique id and version i. */
function message(i: number): string {
  return JSON.stringify({ id: i, v: i, kind: `k${i % 3}` });
}

function range(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => message(from + i));
}

/** A private broker with a fresh stream: the pipeline's source, publishing, and reconnecting after a restart. */
interface Broker {
  readonly server: RestartableBroker;
  source(extra: string): string;
  publish(payloads: readonly string[]): Promise<void>;
  /** Drops the test's own client (before a restart); the next publish connects again. */
  disconnect(): Promise<void>;
  close(): Promise<void>;
}

async function natsBroker(): Promise<Broker> {
  const server = await withPrivateNats();
  const name = uniqueName("sluice_restart").replace(/\W/g, "_");
  const subject = `${name}.events`;
  let nc: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  const client = async (): Promise<JetStreamClient> => {
    if (js) return js;
    nc = await connect({ servers: server.url.replace("nats://", ""), reconnect: false });
    js = jetstream(nc);
    return js;
  };
  // File storage (the default) in the server's store dir: the stream and its consumers survive restart().
  await client();
  await (await jetstreamManager(nc!)).streams.add({ name, subjects: [subject] });
  const disconnect = async (): Promise<void> => {
    const c = nc;
    nc = undefined;
    js = undefined;
    await c?.close().catch(() => undefined);
  };
  return {
    server,
    source: (extra) => `{ type: nats, url: "${server.url}", stream: ${name}, durable: d_${name}${extra} }`,
    publish: async (payloads) => {
      const j = await client();
      for (let i = 0; i < payloads.length; i += 250) {
        await Promise.all(payloads.slice(i, i + 250).map((p) => j.publish(subject, p)));
      }
    },
    disconnect,
    close: async () => {
      await disconnect();
      await server.stop();
    },
  };
}

async function redisBroker(): Promise<Broker> {
  const server = await withPrivateRedis();
  const key = uniqueName("sluice_restart");
  let redis: Redis | undefined;
  const client = async (): Promise<Redis> => {
    if (redis) return redis;
    redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on("error", () => {});
    await redis.connect();
    return redis;
  };
  const disconnect = async (): Promise<void> => {
    redis?.disconnect();
    redis = undefined;
  };
  return {
    server,
    source: (extra) => `{ type: redis_stream, url: "${server.url}", stream: ${key}, group: g${extra} }`,
    publish: async (payloads) => {
      const r = await client();
      for (let i = 0; i < payloads.length; i += 500) {
        const pipe = r.pipeline();
        for (const p of payloads.slice(i, i + 500)) pipe.xadd(key, "*", "data", p);
        const results = await pipe.exec();
        for (const [err] of results ?? []) if (err) throw err;
      }
    },
    disconnect,
    close: async () => {
      await disconnect();
      await server.stop();
    },
  };
}

/** The stream worker and everything it wrote to stderr so far (quoted when a step fails). */
interface Worker {
  readonly child: ChildProcess;
  stderr(): string;
  /** The exit code once it exited, else undefined. */
  exitCode(): number | null | undefined;
}

function startStream(dir: string): Worker {
  const child = spawn(process.execPath, [CLI, "stream", "events"], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  let exited: number | null | undefined;
  child.stderr!.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stdout!.resume();
  child.once("exit", (code, signal) => {
    exited = code;
    text += `\n[stream exited: code ${code}, signal ${signal}]`;
  });
  return { child, stderr: () => text, exitCode: () => exited };
}

/** Resolves once the worker has opened its consumer (its signal handlers are installed by then). */
async function streaming(w: Worker): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (w.stderr().includes("streaming ")) return;
    if (w.exitCode() !== undefined) throw new Error(`the stream exited before streaming:\n${w.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the stream did not start streaming in 30 s:\n${w.stderr()}`);
}

interface Held {
  n: number;
  versions: number;
}

async function warehouse(dir: string): Promise<Held> {
  const [r] = await duckQuery<{ n: bigint; versions: bigint }>(
    `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
     SELECT count(*) AS n, count(DISTINCT v) AS versions FROM w.s.events`,
  );
  return { n: Number(r!.n), versions: Number(r!.versions) };
}

/** Polls the warehouse until `done(held)`, 60 s at most; the error says what it holds and what the stream logged. */
async function waitFor(dir: string, w: Worker, what: string, done: (h: Held) => boolean): Promise<void> {
  let seen: Held | string = "(nothing yet)";
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await warehouse(dir).catch((err: unknown) => String(err));
    if (typeof seen !== "string" && done(seen)) return;
    if (w.exitCode() !== undefined) break;
  }
  throw new Error(
    `${what}: the warehouse holds ${JSON.stringify(seen)}${w.exitCode() !== undefined ? " and the stream exited" : " after 60 s"}; stream stderr:\n${w.stderr().slice(-6000)}`,
  );
}

async function stopAndWait(w: Worker, signal: NodeJS.Signals): Promise<number | null> {
  if (w.exitCode() !== undefined) return w.exitCode()!;
  const exited = new Promise<number | null>((done) => w.child.once("exit", (code) => done(code)));
  w.child.kill(signal);
  return exited;
}

const binaries = { nats: natsServerBinary, redis: redisServerBinary } as const;

describe.each(["nats", "redis"] as const)(
  "The broker restarted mid-stream (%s): the consumer reconnects with backoff, nothing is lost or doubled",
  (kind) => {
    let broker: Broker | undefined;
    let worker: Worker | undefined;
    beforeEach(async () => {
      if (!binaries[kind]() && !process.env.CI) {
        console.warn(skipMessage(kind));
        return;
      }
      broker = kind === "nats" ? await natsBroker() : await redisBroker();
    });
    afterEach(async () => {
      if (worker && worker.exitCode() === undefined) await stopAndWait(worker, "SIGKILL");
      worker = undefined;
      await broker?.close();
      broker = undefined;
    });

    it("1,000 messages, a broker restart, 1,000 more: 2,000 rows, each once, in warehouse and lake; SIGTERM exits 0", async (t) => {
      if (!broker) return t.skip();
      const b = broker;
      const dir = projectDir(eventsYaml(b.source(", max_rows: 200, max_wait_ms: 100")));
      const w = startStream(dir);
      worker = w;
      await streaming(w);

      await b.publish(range(0, BEFORE));
      // Mid-stream: the first micro-batches have landed, the worker is reading on.
      await waitFor(dir, w, "before the restart", (h) => h.n > 0);

      await b.disconnect();
      // Down long enough for the worker's clients to notice and back off.
      await b.server.restart(() => new Promise((r) => setTimeout(r, 1500)));
      if (w.exitCode() !== undefined) {
        throw new Error(`the stream exited during the broker restart:\n${w.stderr()}`);
      }

      await b.publish(range(BEFORE, AFTER));
      await waitFor(dir, w, `after the restart (want ${TOTAL} rows)`, (h) => h.n >= TOTAL);
      // A little longer: a late redelivery written twice would show up now.
      await new Promise((r) => setTimeout(r, 500));

      expect(await stopAndWait(w, "SIGTERM"), w.stderr()).toBe(0);
      expect(await warehouse(dir), w.stderr()).toEqual({ n: TOTAL, versions: TOTAL });
      const lake = await runCli(
        [
          "query",
          "--delta",
          "l=data/lake/events",
          "SELECT count(*) AS n, count(DISTINCT v) AS d, min(v) AS lo, max(v) AS hi FROM l",
          "--format",
          "json",
        ],
        { cwd: dir },
      );
      expect(lake.code, lake.stderr).toBe(0);
      expect(JSON.parse(lake.stdout)).toEqual([{ n: TOTAL, d: TOTAL, lo: 0, hi: TOTAL - 1 }]);
    });
  },
);
