import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLI, projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { skipMessage } from "./support/server-process.js";
import { type StreamFixture, streamFixture } from "./support/stream-broker.js";

// `sluice stream` against real brokers: micro-batches through contract, merge and two sinks; bad
// messages quarantined with their stream position; SIGKILLs at random moments lose and double nothing.

function yaml(source: string, dedup = "{ strategy: merge, key: [id], order_by: v }", transforms = "[]"): string {
  return `version: 1
data_dir: ./data
pipelines:
  events:
    source: ${source}
    validation: quarantine
    contract:
      columns:
        id: { type: integer, required: true }
        v: { type: integer, required: true }
        kind: { type: string }
        checked: { type: integer }
    dedup: ${dedup}
    transforms: ${transforms}
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, format: delta, partition_by: [kind] }
      - { type: duckdb, schema: s, table: events, mode: table }
`;
}

/** Message i: id i % keys, version i (the latest version of a key is its last message). */
function message(i: number, keys: number): string {
  return JSON.stringify({ id: i % keys, v: i, kind: `k${i % 3}` });
}

const children: ChildProcess[] = [];
afterEach(() => {
  // A failed test must not leave workers running against the shared broker.
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function startStream(dir: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, "stream", "events"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return child;
}

/** Resolves once the worker has opened its consumer (its signal handlers are installed by then). */
function streaming(child: ChildProcess): Promise<void> {
  return new Promise((ready, fail) => {
    let text = "";
    child.stderr!.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("streaming ")) ready();
    });
    child.once("exit", (code) => fail(new Error(`the stream exited (${code}) before streaming: ${text}`)));
  });
}

/** Waits until `done()` holds (the warehouse holds what was published), polling; 60 s at most. */
async function caughtUp(dir: string, want: Awaited<ReturnType<typeof warehouse>>): Promise<void> {
  let seen: unknown;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await warehouse(dir).catch((err: unknown) => String(err));
    if (JSON.stringify(seen) === JSON.stringify(want)) return;
  }
  throw new Error(
    `the stream did not catch up in 60 s: the warehouse holds ${JSON.stringify(seen)}, not ${JSON.stringify(want)}`,
  );
}

async function stopAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  child.kill(signal);
  return exited;
}

async function warehouse(dir: string): Promise<{ n: number; ids: number; sum: number }> {
  const [r] = await duckQuery<{ n: bigint; ids: bigint; sum: bigint | null }>(
    `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
     SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(v)::BIGINT AS sum FROM w.s.events`,
  );
  return { n: Number(r!.n), ids: Number(r!.ids), sum: Number(r!.sum ?? 0) };
}

/** Sum of the latest version of each key among messages 0..count-1 (each key's last message). */
function latestSum(count: number, keys: number): number {
  let sum = 0;
  for (let id = 0; id < Math.min(keys, count); id++) sum += id + Math.floor((count - 1 - id) / keys) * keys;
  return sum;
}

describe.each(["redis", "nats"] as const)("sluice stream from %s", (kind) => {
  // A fresh stream per test: a new pipeline reads a stream from its start.
  let fx: StreamFixture | undefined;
  beforeEach(async () => {
    fx = await streamFixture(kind);
    if (!fx) console.warn(skipMessage(kind));
  });
  afterEach(async () => fx?.close());

  it("micro-batches land once per key (latest) in lake and warehouse; bad messages are quarantined with their position; SIGTERM exits 0", async (t) => {
    if (!fx) return t.skip();
    const dir = projectDir(yaml(fx.source(", max_rows: 200, max_wait_ms: 100, max_message_bytes: 2000")));
    const good = Array.from({ length: 600 }, (_, i) => message(i, 250));
    await fx.publish([
      ...good.slice(0, 300),
      "not json",
      JSON.stringify({ v: 1 }),
      "x".repeat(5000),
      ...good.slice(300),
    ]);
    const child = startStream(dir);
    await streaming(child);
    await caughtUp(dir, { n: 250, ids: 250, sum: latestSum(600, 250) });
    expect(await stopAndWait(child, "SIGTERM")).toBe(0);
    expect(await warehouse(dir)).toEqual({ n: 250, ids: 250, sum: latestSum(600, 250) });
    const q = await runCli(["quarantine", "events", "--json"], { cwd: dir });
    const { total, rows } = JSON.parse(q.stdout) as { total: number; rows: { source_pos: string }[] };
    expect(total).toBe(3);
    for (const r of rows) expect(r.source_pos).toMatch(/#\d+(-\d+)?$/);
    expect(q.stdout).toContain("max_message_bytes");
    const lake = await runCli(
      ["query", "--delta", "l=data/lake/events", "SELECT count(*) AS n, sum(v) AS s FROM l", "--format", "json"],
      { cwd: dir },
    );
    expect(JSON.parse(lake.stdout)).toEqual([{ n: 250, s: latestSum(600, 250) }]);
  });

  it("killed with SIGKILL at random moments while messages arrive: nothing lost, nothing doubled", async (t) => {
    if (!fx) return t.skip();
    // Append (dedup none): a redelivered message written again would show as a second row.
    const dir = projectDir(
      yaml(fx.source(", max_rows: 300, max_wait_ms: 50, compact_every: 1, compact_min_files: 2"), "{ strategy: none }"),
    );
    const total = 3000;
    let published = 0;
    for (let round = 0; round < 5; round++) {
      const child = startStream(dir);
      const chunk = Array.from({ length: total / 5 }, (_, i) => message(published + i, 700));
      await fx.publish(chunk);
      published += chunk.length;
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 1500));
      await stopAndWait(child, "SIGKILL");
    }
    const child = startStream(dir);
    await streaming(child);
    await caughtUp(dir, { n: total, ids: 700, sum: (total * (total - 1)) / 2 });
    expect(await stopAndWait(child, "SIGTERM")).toBe(0);
    const [r] = await duckQuery<{ n: bigint; versions: bigint; sum: bigint }>(
      `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
       SELECT count(*) AS n, count(DISTINCT v) AS versions, sum(v)::BIGINT AS sum FROM w.s.events`,
    );
    expect(r).toEqual({ n: BigInt(total), versions: BigInt(total), sum: BigInt((total * (total - 1)) / 2) });
    const lake = await runCli(
      [
        "query",
        "--delta",
        "l=data/lake/events",
        "SELECT count(*) AS n, count(DISTINCT v) AS d FROM l",
        "--format",
        "json",
      ],
      { cwd: dir },
    );
    expect(JSON.parse(lake.stdout)).toEqual([{ n: total, d: total }]);
    // The stream compacted its lake table while it ran (sluice compact is locked out meanwhile).
    const log = join(dir, "data", "lake", "events", "_delta_log");
    const operations = readdirSync(log)
      .filter((n) => n.endsWith(".json"))
      .map(
        (n) =>
          (JSON.parse(readFileSync(join(log, n), "utf8").split("\n")[0]!) as { commitInfo: { operation: string } })
            .commitInfo.operation,
      );
    expect(operations).toContain("OPTIMIZE");
  });

  it("a message that fails processing every time is isolated and dead-lettered with its error; the stream goes on", async (t) => {
    if (!fx) return t.skip();
    const poison = `[{ type: derive, columns: { checked: "CASE WHEN v = 77 THEN error('poison message ' || v) ELSE v END" } }]`;
    const dir = projectDir(
      yaml(fx.source(", max_rows: 100, max_wait_ms: 100, max_deliveries: 2"), "{ strategy: none }", poison),
    );
    await fx.publish(Array.from({ length: 300 }, (_, i) => message(i, 1000)));
    const child = startStream(dir);
    await streaming(child);
    await caughtUp(dir, { n: 299, ids: 299, sum: (300 * 299) / 2 - 77 });
    expect(await stopAndWait(child, "SIGTERM")).toBe(0);
    const [dead] = await duckQuery<{ n: bigint; pos: string; raw: string; error: string }>(
      `SELECT count(*) AS n, any_value(_source_pos) AS pos, any_value(_raw) AS raw, any_value(_error) AS error
       FROM read_parquet('${join(dir, "data", "deadletter", "events")}/*.parquet')`,
    );
    expect(dead).toMatchObject({ n: 1n, raw: message(77, 1000) });
    expect(dead?.pos).toMatch(/#\d+(-\d+)?$/);
    expect(dead?.error).toContain("poison message 77");
  });
});
