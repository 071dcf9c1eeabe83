import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsSinkSpec, redisStreamSinkSpec } from "../src/config/spec.js";
import { openPublisher } from "../src/connectors/publisher.js";
import { batchesKey, RedisBatchPublisher } from "../src/connectors/redis/publish-redis-batch.js";
import { Engine } from "../src/engine/engine.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { batchMessages } from "../src/sinks/broker-publish/batch-messages.js";
import { natsSink, redisStreamSink } from "../src/sinks/broker-publish/publish-sink.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { type TestBroker, testNats, uniqueName } from "./support/nats.js";
import { testRedis } from "./support/redis.js";
import { testRunContext } from "./support/run-context.js";

// `nats` and `redis_stream` publish sinks: one JSON message per row beside a warehouse table; a batch
// published again (a retried attempt, an interrupted publish continued) adds nothing.

let nats: TestBroker | undefined;
let redis: TestBroker | undefined;
beforeAll(async () => {
  nats = await testNats();
  redis = await testRedis();
}, 60_000);
afterAll(async () => {
  await nats?.stop();
  await redis?.stop();
});

const ROWS = 25;

function project(sink: string, retries = "{ attempts: 1, backoff_seconds: 0 }"): string {
  const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  preds:
    source: { type: file, path: preds.jsonl }
    retries: ${retries}
    sinks:
      - { type: duckdb, schema: s, table: preds, mode: table }
      - ${sink}
`);
  const lines = Array.from({ length: ROWS }, (_, i) =>
    JSON.stringify({ id: i, label: i % 3 === 0 ? "fraud" : "ok", note: 'a\tb "q"' }),
  );
  writeFileSync(join(dir, "preds.jsonl"), `${lines.join("\n")}\n`);
  return dir;
}

async function natsCount(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

async function natsDeleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream);
  } finally {
    await nc.close();
  }
}

async function natsFirst(url: string, stream: string): Promise<{ data: unknown; id: string | undefined }> {
  const nc = await connect({ servers: url });
  try {
    const m = (await (await jetstreamManager(nc)).streams.getMessage(stream, { seq: 1 }))!;
    return { data: m.json(), id: m.header?.get("Nats-Msg-Id") };
  } finally {
    await nc.close();
  }
}

async function withRedis<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(redis!.url);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

function record(stdout: string): RunRecord {
  return JSON.parse(stdout) as RunRecord;
}

describe("nats sink", () => {
  it("publishes one message per row; a retried attempt of the batch publishes nothing new", async (t) => {
    if (!nats) return t.skip();
    const stream = uniqueName("preds");
    const url = `${nats.url}/predictions.${stream.replace(/-/g, "_")}?stream=${stream}`;
    const dir = project(`{ type: nats, url: "${url}" }`, "{ attempts: 2, backoff_seconds: 0 }");
    const first = await runCli(["run", "--json"], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(record(first.stdout).outputs.map((o) => [o.status, o.rows])).toEqual([
      ["written", ROWS],
      ["written", ROWS],
    ]);
    expect(await natsCount(nats.url, stream)).toBe(ROWS);
    const msg = await natsFirst(nats.url, stream);
    expect(msg.data).toMatchObject({ _batch_id: record(first.stdout).batch_id });
    expect(msg.id).toMatch(new RegExp(`^${record(first.stdout).batch_id}:\\d+$`));
    const [{ n }] = await duckQuery<{ n: bigint }>(
      `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY); SELECT count(*) AS n FROM w.s.preds`,
    );
    expect(n).toBe(BigInt(ROWS));

    // Every attempt fails after the nats sink committed: the second attempt finds the batch held.
    const retried = await runCli(["run", "--json"], { cwd: dir, env: { SLUICE_FAILPOINTS: "after:sink:1=transient" } });
    expect(retried.code).toBe(1);
    const commits = record(retried.stdout).commits?.filter((c) => c.sink.startsWith("nats:"));
    expect(commits?.map((c) => [c.attempt, c.status])).toEqual([
      [1, "written"],
      [2, "held"],
    ]);
    expect(await natsCount(nats.url, stream)).toBe(2 * ROWS);
  });

  it("a batch interrupted mid-publish is published again without doubles (Nats-Msg-Id); then it is held", async (t) => {
    if (!nats) return t.skip();
    const stream = uniqueName("part");
    const url = `${nats.url}/part.${stream.replace(/-/g, "_")}?stream=${stream}`;
    const engine = await Engine.open();
    try {
      const ctx = testRunContext(engine);
      await engine.run("CREATE TABLE batch AS SELECT i AS id, 'x' || i AS label FROM range(2500) r(i)");
      // The first 1,200 messages made it before a crash: same ids as the sink derives.
      const messages = await batchMessages(engine, "batch", "b7");
      const publisher = await openPublisher(url, "test");
      const head = [];
      for await (const m of messages.messages()) if (head.length < 1200) head.push(m);
      await publisher.publishBatch(head);
      await publisher.close();
      messages.dispose();

      const sink = natsSink(natsSinkSpec.parse({ type: "nats", url }));
      expect(await sink.holds(ctx, "b7")).toBe(false);
      const out = await sink.write(ctx, "batch", { extent: "append", batchId: "b7" });
      expect(out).toMatchObject({ status: "written", rows: 2500 });
      expect(await natsCount(nats.url, stream)).toBe(2500);
      expect(await sink.holds(ctx, "b7")).toBe(true);
      expect(await sink.write(ctx, "batch", { extent: "append", batchId: "b7" })).toMatchObject({
        status: "held",
        rows: 0,
      });
      expect(await natsCount(nats.url, stream)).toBe(2500);

      // The stream deleted (an operator's reset): its marks no longer count, the batch is published again.
      await natsDeleteStream(nats.url, stream);
      expect(await sink.holds(ctx, "b7")).toBe(false);
      expect(await sink.write(ctx, "batch", { extent: "append", batchId: "b7" })).toMatchObject({
        status: "written",
        rows: 2500,
      });
      expect(await natsCount(nats.url, stream)).toBe(2500);
    } finally {
      engine.close();
    }
  });
});

describe("redis_stream sink", () => {
  it("publishes one entry per row; a retried attempt of the batch publishes nothing new", async (t) => {
    if (!redis) return t.skip();
    const key = uniqueName("preds");
    const dir = project(`{ type: redis_stream, url: "${redis.url}/${key}" }`, "{ attempts: 2, backoff_seconds: 0 }");
    const first = await runCli(["run", "--json"], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const batchId = record(first.stdout).batch_id;
    expect(await withRedis((r) => r.xlen(key))).toBe(ROWS);
    const [[, fields]] = await withRedis((r) => r.xrange(key, "-", "+", "COUNT", 1));
    expect(fields[0]).toBe("data");
    expect(JSON.parse(fields[1]!)).toMatchObject({ _batch_id: batchId, note: 'a\tb "q"' });
    expect(await withRedis((r) => r.hget(batchesKey(key), batchId!))).toBe("done");

    const retried = await runCli(["run", "--json"], { cwd: dir, env: { SLUICE_FAILPOINTS: "after:sink:1=transient" } });
    expect(retried.code).toBe(1);
    const commits = record(retried.stdout).commits?.filter((c) => c.sink.startsWith("redis_stream:"));
    expect(commits?.map((c) => [c.attempt, c.status])).toEqual([
      [1, "written"],
      [2, "held"],
    ]);
    expect(await withRedis((r) => r.xlen(key))).toBe(2 * ROWS);
  });

  it("a batch interrupted mid-publish continues after the last entry that landed: each row once", async (t) => {
    if (!redis) return t.skip();
    const key = uniqueName("part");
    const url = `${redis.url}/${key}`;
    const engine = await Engine.open();
    try {
      const ctx = testRunContext(engine);
      await engine.run("CREATE TABLE batch AS SELECT i AS id, 'x' || i AS label FROM range(2500) r(i)");
      // A crash after the first window of 1,000 (a window lands whole or not at all).
      const messages = await batchMessages(engine, "batch", "b9");
      const all = [];
      for await (const m of messages.messages()) all.push(m);
      messages.dispose();
      const partial = await RedisBatchPublisher.open(url, "test");
      const windows = partial.batch("b9");
      await windows.publishBatch(all.slice(0, 1000));
      await partial.close();
      const other = await RedisBatchPublisher.open(url, "test");
      await other.batch("b9").publishBatch(all.slice(0, 1000)); // a window that landed: skipped
      await other.close();
      expect(await withRedis((r) => r.xlen(key))).toBe(1000);

      const sink = redisStreamSink(redisStreamSinkSpec.parse({ type: "redis_stream", url }));
      expect(await sink.holds(ctx, "b9")).toBe(false);
      expect(await sink.write(ctx, "batch", { extent: "append", batchId: "b9" })).toMatchObject({
        status: "written",
        rows: 2500,
      });
      const ids = await withRedis(async (r) =>
        (await r.xrange(key, "-", "+")).map(([, f]) => (JSON.parse(f[1]!) as { id: number }).id),
      );
      expect(ids).toHaveLength(2500);
      expect(new Set(ids).size).toBe(2500);
      expect(await sink.holds(ctx, "b9")).toBe(true);
      expect(await sink.write(ctx, "batch", { extent: "append", batchId: "b9" })).toMatchObject({
        status: "held",
      });
      expect(await withRedis((r) => r.xlen(key))).toBe(2500);

      // The stream key deleted (an operator's reset): the batch is published again, whole.
      await withRedis((r) => r.del(key));
      expect(await sink.holds(ctx, "b9")).toBe(false);
      expect(await sink.write(ctx, "batch", { extent: "append", batchId: "b9" })).toMatchObject({
        status: "written",
        rows: 2500,
      });
      expect(await withRedis((r) => r.xlen(key))).toBe(2500);
    } finally {
      engine.close();
    }
  });

  it("never shows the URL's password", async () => {
    const sink = redisStreamSink(
      redisStreamSinkSpec.parse({ type: "redis_stream", url: "redis://u:s3cret@127.0.0.1:6399/k" }),
    );
    expect(sink.name).not.toContain("s3cret");
    const n = natsSink(natsSinkSpec.parse({ type: "nats", url: "nats://u:s3cret@127.0.0.1:4299/a.b" }));
    expect(n.name).not.toContain("s3cret");
  });
});
