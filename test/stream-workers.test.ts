import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLI, projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { skipMessage } from "./support/server-process.js";
import { type StreamFixture, streamFixture } from "./support/stream-broker.js";

// Several `sluice stream` workers of one pipeline: each does part of the work, the total written
// equals what was published (no message lost, none twice), and a worker SIGKILLed mid-stream leaves
// its messages to the other, which takes over its slot.

function yaml(source: string): string {
  return `version: 1
data_dir: ./data
pipelines:
  events:
    source: ${source}
    contract:
      columns:
        id: { type: integer, required: true }
        kind: { type: string }
    dedup: { strategy: none }
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, format: delta, partition_by: [kind] }
      - { type: duckdb, schema: s, table: events, mode: table }
`;
}

const messages = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => JSON.stringify({ id: from + i, kind: `k${(from + i) % 3}` }));

interface Summary {
  slot?: number;
  adopted?: number[];
  rows: { written: number };
}

interface Worker {
  readonly child: ChildProcess;
  readonly output: Promise<Summary | undefined>;
  stderr: string;
}

const workers: Worker[] = [];
afterEach(() => {
  for (const w of workers.splice(0))
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
});

/** Starts a worker; resolves once it streams (its own slot taken, its consumer open). */
async function startWorker(dir: string): Promise<Worker> {
  const child = spawn(process.execPath, [CLI, "stream", "events", "--json"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  const worker: Worker = {
    child,
    stderr: "",
    output: new Promise((done) =>
      child.once("exit", () => done(stdout.trim() ? (JSON.parse(stdout) as Summary) : undefined)),
    ),
  };
  workers.push(worker);
  await new Promise<void>((ready, fail) => {
    child.stderr!.on("data", (d: Buffer) => {
      worker.stderr += d.toString();
      if (worker.stderr.includes("streaming ")) ready();
    });
    child.once("exit", (code) => fail(new Error(`the worker exited (${code}) before streaming: ${worker.stderr}`)));
  });
  return worker;
}

async function warehouse(dir: string): Promise<{ n: number; ids: number }> {
  const [r] = await duckQuery<{ n: bigint; ids: bigint }>(
    `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
     SELECT count(*) AS n, count(DISTINCT id) AS ids FROM w.s.events`,
  );
  return { n: Number(r!.n), ids: Number(r!.ids) };
}

async function lake(dir: string): Promise<{ n: number; ids: number }> {
  const out = await runCli(
    [
      "query",
      "--delta",
      "l=data/lake/events",
      "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM l",
      "--format",
      "json",
    ],
    { cwd: dir },
  );
  return (JSON.parse(out.stdout) as { n: number; ids: number }[])[0]!;
}

/** Polls until `probe` holds (the warehouse locked by a worker counts as not yet); 90 s at most. */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 900; i++) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function stop(worker: Worker): Promise<Summary> {
  worker.child.kill("SIGTERM");
  const summary = await worker.output;
  expect(summary, worker.stderr).toBeDefined();
  return summary!;
}

describe.each(["redis", "nats"] as const)("two sluice stream workers on one %s pipeline", (kind) => {
  let fx: StreamFixture | undefined;
  beforeEach(async () => {
    fx = await streamFixture(kind, 2);
    if (!fx) console.warn(skipMessage(kind));
  });
  afterEach(async () => fx?.close());

  it("share the stream, and one takes over what a SIGKILLed one left: every message lands once per sink", async (t) => {
    if (!fx) return t.skip();
    const dir = projectDir(yaml(fx.source(", max_rows: 50, max_wait_ms: 50")));
    const a = await startWorker(dir);
    const b = await startWorker(dir);
    await fx.publish(messages(0, 600));
    await until("the warehouse holds the first 600", async () => (await warehouse(dir)).n >= 600);

    // B dies mid-stream with messages in hand; A takes over its slot.
    await fx.publish(messages(600, 600));
    await until("the second half is being written", async () => (await warehouse(dir)).n > 700);
    b.child.kill("SIGKILL");
    await b.output;
    await until("A wrote what B left", async () => (await warehouse(dir)).n >= 1200);
    await new Promise((r) => setTimeout(r, 500));
    const summaryA = await stop(a);

    expect(await warehouse(dir)).toEqual({ n: 1200, ids: 1200 });
    expect(await lake(dir)).toEqual({ n: 1200, ids: 1200 });
    expect(summaryA.slot).toBe(0);
    expect(summaryA.adopted, a.stderr).toContain(1);
    // B did part of the work before it died: its micro-batches are in the ledger of the pipeline.
    const bBatches = b.stderr.match(/micro-batch \S+: succeeded, [1-9]\d* written/g) ?? [];
    expect(bBatches.length, b.stderr).toBeGreaterThan(0);
    const bWritten = bBatches.reduce((n, line) => n + Number(/(\d+) written/.exec(line)![1]), 0);
    expect(bWritten).toBeGreaterThan(0);
    expect(summaryA.rows.written).toBeGreaterThan(0);
    expect(summaryA.rows.written).toBeLessThan(1200);
  }, 240_000);
});
