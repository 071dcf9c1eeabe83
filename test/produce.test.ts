// `sluice generate --out nats://|redis://` and `sluice produce` against real brokers (the machine's
// or private ones): counts in the broker, the payload's shape, the producer's log against its duplicates.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { testNats } from "./support/nats.js";
import { testRedis } from "./support/redis.js";
import { skipMessage, uniqueName } from "./support/server-process.js";

const nats = await testNats();
const redis = await testRedis();
if (!nats) console.warn(skipMessage("nats"));
if (!redis) console.warn(skipMessage("redis"));

interface LogLine {
  seq: number;
  key: string;
  dup: boolean;
}

async function cli(args: string[], code = 0) {
  const r = await runCli(args, { cwd: mkdtempSync(join(tmpdir(), "sluice-produce-")) });
  expect(r.code, r.stderr).toBe(code);
  return r;
}

/** Produces 300 messages with 10% duplicates to `url`; checks the log and the JSON summary, returns the log. */
async function produce300(url: string): Promise<LogLine[]> {
  const logFile = join(mkdtempSync(join(tmpdir(), "sluice-produce-log-")), "producer.jsonl");
  const r = await cli([
    "produce",
    "transactions",
    "--to",
    url,
    "--count",
    "300",
    "--rate",
    "1000/s",
    "--dup-rate",
    "0.1",
    "--seed",
    "7",
    "--log",
    logFile,
    "--json",
  ]);
  const log = readFileSync(logFile, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as LogLine);
  expect(log).toHaveLength(300);
  expect(log.map((l) => l.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  // A message is a duplicate exactly when its key was sent before: derived from the log itself.
  const seen = new Set<string>();
  let repeats = 0;
  for (const l of log) {
    if (seen.has(l.key)) repeats++;
    seen.add(l.key);
  }
  const dups = log.filter((l) => l.dup).length;
  expect(dups).toBe(repeats);
  expect(dups).toBeGreaterThan(10); // about 10% of 300
  expect(dups).toBeLessThan(60);
  const summary = JSON.parse(r.stdout) as { published: number; duplicates: number; seconds: number };
  expect(summary).toMatchObject({ published: 300, duplicates: dups });
  expect(summary.seconds).toBeGreaterThan(0.2); // 300 messages at 1000/s take about 0.3 s
  return log;
}

describe.skipIf(!redis)("Redis stream outputs", () => {
  const client = redis ? new Redis(redis.url) : undefined;
  const keys: string[] = [];
  afterAll(async () => {
    if (keys.length > 0) await client?.del(...keys);
    client?.disconnect();
    await redis?.stop();
  });

  it("generate --out redis://HOST/KEY appends one JSON entry per row", async () => {
    const key = uniqueName("gen");
    keys.push(key);
    await cli(["generate", "transactions", "--rows", "500", "--seed", "3", "--out", `${redis!.url}/${key}`]);
    expect(await client!.xlen(key)).toBe(500);
    const fields = (await client!.xrange(key, "-", "+", "COUNT", 1))[0]![1];
    expect(fields[0]).toBe("data");
    const record = JSON.parse(fields[1]!) as Record<string, unknown>;
    expect(record.transaction_id).toEqual(expect.stringMatching(/^txn_/));
    expect(record.timestamp).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/));
  });

  it("produce --count 300 --dup-rate 0.1 leaves 300 entries, duplicates as its log says", async () => {
    const key = uniqueName("produce");
    keys.push(key);
    const log = await produce300(`${redis!.url}/${key}`);
    const entries = await client!.xrange(key, "-", "+");
    expect(entries).toHaveLength(300);
    const sent = entries.map(([, f]) => (JSON.parse(f[1]!) as { transaction_id: string }).transaction_id);
    expect(sent).toEqual(log.map((l) => l.key)); // stream order is publish order
  });
});

describe.skipIf(!nats)("NATS JetStream outputs", () => {
  const streams: string[] = [];
  afterAll(async () => {
    const nc = await connect({ servers: nats!.url, reconnect: false });
    const jsm = await jetstreamManager(nc);
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
    await nats?.stop();
  });

  /** The stream's message count, and its first message as JSON. */
  async function streamFacts(stream: string): Promise<{ messages: number; first: Record<string, unknown> }> {
    const nc = await connect({ servers: nats!.url, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(stream);
      const first = await jsm.streams.getMessage(stream, { seq: info.state.first_seq });
      return { messages: info.state.messages, first: first!.json<Record<string, unknown>>() };
    } finally {
      await nc.close();
    }
  }

  it("generate --out nats://HOST/SUBJECT creates the stream and stores one message per row, once", async () => {
    const subject = `gen.${uniqueName("tx")}`;
    const stream = subject.replace(/\W/g, "_");
    streams.push(stream);
    const args = ["generate", "transactions", "--rows", "500", "--seed", "3", "--out", `${nats!.url}/${subject}`];
    const r = await cli(args);
    expect(r.stderr).toContain(`(stream ${stream})`);
    const facts = await streamFacts(stream);
    expect(facts.messages).toBe(500);
    expect(facts.first.transaction_id).toEqual(expect.stringMatching(/^txn_/));
    // The same rows again: same message ids, deduplicated by the server.
    const again = await cli([...args, "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ rows: 0 });
    expect((await streamFacts(stream)).messages).toBe(500);
  });

  it("produce --count 300 --dup-rate 0.1 stores 300 messages (?stream= names the stream)", async () => {
    const subject = `produce.${uniqueName("tx")}`;
    const stream = `P_${uniqueName("s").replace(/\W/g, "_")}`;
    streams.push(stream);
    const log = await produce300(`${nats!.url}/${subject}?stream=${stream}`);
    const facts = await streamFacts(stream);
    expect(facts.messages).toBe(300);
    expect(facts.first.transaction_id).toBe(log[0]!.key);
  });

  it("generate --out nats://HOST/SUBJECT?partitions=3 spreads the messages over SUBJECT.0 .. SUBJECT.2", async () => {
    const subject = `part.${uniqueName("tx")}`;
    const stream = subject.replace(/\W/g, "_");
    streams.push(stream);
    const r = await cli([
      "generate",
      "transactions",
      "--rows",
      "600",
      "--seed",
      "4",
      "--out",
      `${nats!.url}/${subject}?partitions=3`,
    ]);
    expect(r.stderr).toContain(`(stream ${stream})`);
    const nc = await connect({ servers: nats!.url, reconnect: false });
    try {
      const info = await (await jetstreamManager(nc)).streams.info(stream, { subjects_filter: ">" });
      expect(info.config.subjects).toEqual([`${subject}.*`]);
      const counts = info.state.subjects ?? {};
      expect(Object.keys(counts).sort()).toEqual([0, 1, 2].map((k) => `${subject}.${k}`));
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(600);
      for (const n of Object.values(counts)) expect(n).toBeGreaterThan(100); // a hash spreads them
    } finally {
      await nc.close();
    }
    const bad = await cli(
      ["generate", "transactions", "--rows", "1", "--out", `${nats!.url}/${subject}?partitions=0`],
      2,
    );
    expect(bad.stderr).toContain("?partitions= must be a whole number from 1 to 1024");
  });
});
