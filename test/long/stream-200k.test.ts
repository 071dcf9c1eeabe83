import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLI, projectDir, runCli } from "../support/cli.js";
import { duckQuery } from "../support/duckdb.js";
import { testNats } from "../support/nats.js";
import { testRedis } from "../support/redis.js";
import { skipMessage, uniqueName } from "../support/server-process.js";

// `npm run test:long` (SLUICE_LONG=1): the streaming issue's kill test at full size. 200,000 messages
// (10 % duplicates, 10 % out of order) from `sluice produce`, while three workers (merge, eager,
// bronze_append pipelines on the same stream) are SIGKILLed 10 times at random moments and restarted;
// the tables are checked against the producer's own log.
const COUNT = Number(process.env.SLUICE_LONG_MESSAGES ?? 200_000);
const PIPELINES = ["merge", "eager", "bronze"] as const;

function yaml(source: (name: string) => string): string {
  const dedup = {
    merge: "{ strategy: merge, key: [id], order_by: updatedAt }",
    eager: "{ strategy: eager, key: [id] }",
    bronze: "{ strategy: bronze_append, key: [id] }",
  };
  const pipelines = PIPELINES.map(
    (p) => `  ${p}:
    source: ${source(p)}
    validation: quarantine
    contract:
      extra_columns: keep
      columns:
        id: { type: string, required: true }
        timestamp: { type: timestamp, required: true }
        updatedAt: { type: timestamp, required: true }
    dedup: ${dedup[p]}
    sinks:
      - { type: parquet, path: lake/${p}, layout: partitioned, format: delta, time_column: timestamp }
      - { type: duckdb, path: data/duckdb/${p}.duckdb, schema: ${p}, table: events, mode: table }`,
  );
  return `version: 1\ndata_dir: ./data\npipelines:\n${pipelines.join("\n")}\n`;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function start(dir: string, pipeline: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, "stream", pipeline], { cwd: dir, stdio: "ignore" });
  children.push(child);
  return child;
}

async function table(dir: string, p: string): Promise<{ n: number; ids: number }> {
  const [r] = await duckQuery<{ n: bigint; ids: bigint }>(
    `ATTACH '${join(dir, "data", "duckdb", `${p}.duckdb`)}' AS w (READ_ONLY);
     SELECT count(*) AS n, count(DISTINCT id) AS ids FROM w.${p}.events`,
  );
  return { n: Number(r!.n), ids: Number(r!.ids) };
}

describe.skipIf(!process.env.SLUICE_LONG).each(["redis", "nats"] as const)("%s: 200K messages, 10 SIGKILLs", (kind) => {
  it("merge and eager hold each key once, bronze every message once; counts match the producer's log", {
    timeout: 900_000,
  }, async (t) => {
    const broker = kind === "nats" ? await testNats() : await testRedis();
    if (!broker) {
      console.warn(skipMessage(kind));
      return t.skip();
    }
    const name = uniqueName("long").replace(/\W/g, "_");
    const stream = kind === "nats" ? name : name; // NATS: the stream is named after the subject
    const source = (p: string) =>
      kind === "nats"
        ? `{ type: nats, url: "${broker.url}", stream: ${stream}, subject: ${name}, durable: ${p}_${name}, max_rows: 20000, max_wait_ms: 200 }`
        : `{ type: redis_stream, url: "${broker.url}", stream: ${name}, group: ${p}, max_rows: 20000, max_wait_ms: 200 }`;
    const dir = projectDir(yaml(source));
    const to = `${broker.url}/${name}`;
    // The stream must exist before a NATS worker starts: one message first.
    const seed = await runCli(
      [
        "produce",
        "behavioral_events",
        "--to",
        to,
        "--count",
        "1",
        "--rate",
        "10/s",
        "--seed",
        "1",
        "--log",
        join(dir, "first.jsonl"),
      ],
      { cwd: dir },
    );
    expect(seed.code, seed.stderr).toBe(0);
    const workers = new Map(PIPELINES.map((p) => [p as string, start(dir, p)]));
    const producer = spawn(
      process.execPath,
      [
        CLI,
        "produce",
        "behavioral_events",
        "--to",
        to,
        "--count",
        String(COUNT - 1),
        "--rate",
        "40000/s",
        "--dup-rate",
        "0.1",
        "--out-of-order-rate",
        "0.1",
        "--seed",
        "7",
        "--log",
        join(dir, "produced.jsonl"),
      ],
      { cwd: dir, stdio: "ignore" },
    );
    children.push(producer);
    const produced = new Promise<number | null>((done) => producer.once("exit", done));
    for (let k = 0; k < 10; k++) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
      const p = PIPELINES[Math.floor(Math.random() * PIPELINES.length)]!;
      const victim = workers.get(p)!;
      const gone = new Promise((r) => victim.once("exit", r));
      victim.kill("SIGKILL");
      await gone; // its lock is free only once the process is gone
      workers.set(p, start(dir, p));
    }
    expect(await produced).toBe(0);
    const log = [
      ...readFileSync(join(dir, "first.jsonl"), "utf8").split("\n"),
      ...readFileSync(join(dir, "produced.jsonl"), "utf8").split("\n"),
    ]
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { key: string; dup: boolean });
    const keys = new Set(log.map((l) => l.key)).size;
    const want = { merge: { n: keys, ids: keys }, eager: { n: keys, ids: keys }, bronze: { n: log.length, ids: keys } };
    for (const p of PIPELINES) {
      let seen: unknown;
      for (let i = 0; i < 1200; i++) {
        seen = await table(dir, p).catch((err: unknown) => String(err));
        if (JSON.stringify(seen) === JSON.stringify(want[p])) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      console.log(`${kind} ${p}: ${JSON.stringify(seen)}`);
      expect(seen, p).toEqual(want[p]);
    }
    for (const w of workers.values()) w.kill("SIGTERM");
    console.log(`${kind}: ${log.length} messages, ${log.filter((l) => l.dup).length} duplicates, ${keys} keys`);
    await broker.stop();
  });
});
