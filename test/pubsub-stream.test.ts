import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type PubsubSourceConfig, sourceSpec } from "../src/config/spec.js";
import { readDeltaSnapshot } from "../src/lake/delta/index.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { pubsubMessage, pubsubShape } from "../src/sources/pubsub/pubsub-messages.js";
import { CLI, projectDir } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

// S3 with no broker: `sluice stream` reads the in-process pubsub topic (10 % re-sends, 10 % out of
// order) into three sinks, each with its own strategy: bronze_append (Delta, every delivery with
// `_duplicate`), merge (warehouse table, the latest message per account by created_at) and eager
// (Delta, each message_id at its first delivery). The worker is SIGKILLed once mid-stream and
// restarted; the topic ends after COUNT messages and the worker exits by itself. Expected tables
// are computed from the topic's own definition (position n -> message), independently of sluice.
const COUNT = 3000;
const SOURCE = { type: "pubsub", seed: 5, rate: 0, dup_rate: 0.1, out_of_order_rate: 0.1, count: COUNT, keys: 200 };

const CONFIG = `version: 1
data_dir: ./data
pipelines:
  s3:
    source: { type: pubsub, seed: 5, rate: 0, dup_rate: 0.1, out_of_order_rate: 0.1, count: ${COUNT}, keys: 200, max_rows: 250, max_wait_ms: 200 }
    validation: "off"
    dedup: { strategy: bronze_append, key: [message_id] }
    sinks:
      - { type: parquet, path: lake/bronze, layout: partitioned, format: delta, time_column: published_at, partition_by: event_date }
      - type: duckdb
        table: latest
        mode: table
        dedup: { strategy: merge, key: [key], order_by: created_at }
      - type: parquet
        path: lake/eager
        layout: partitioned
        format: delta
        time_column: published_at
        partition_by: event_date
        dedup: { strategy: eager }
`;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function start(dir: string): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, "stream", "s3"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, MALLOC_ARENA_MAX: "2" },
  });
  children.push(child);
  let text = "";
  child.stderr!.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, exited, stderr: () => text };
}

function records(dir: string): RunRecord[] {
  const folder = join(dir, "data", "runs", "s3");
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(folder, f), "utf8")) as RunRecord);
}

async function delta(dir: string, name: string): Promise<string> {
  const snapshot = await readDeltaSnapshot(join(dir, "data", "lake", name));
  return `read_parquet([${snapshot.files.map((f) => `'${f.path}'`).join(", ")}], hive_partitioning = false)`;
}

/** The topic's messages 1..COUNT with their position, as a DuckDB relation (a VALUES list). */
function topic(): string {
  const shape = pubsubShape(sourceSpec.parse(SOURCE) as PubsubSourceConfig);
  const rows: string[] = [];
  for (let n = 1; n <= COUNT; n++) {
    const m = pubsubMessage(shape, n);
    rows.push(
      `(${n}, '${m.message_id}', '${m.key}', '${m.created_at}'::TIMESTAMPTZ, '${m.published_at}'::TIMESTAMPTZ)`,
    );
  }
  return `(SELECT * FROM (VALUES ${rows.join(", ")}) AS t(pos, message_id, key, created_at, published_at))`;
}

describe("sluice stream from the in-process pubsub topic, one strategy per sink", () => {
  it("killed once and restarted: bronze keeps every delivery marked, merge the latest per key, eager the first", async () => {
    const dir = projectDir(CONFIG, "sluice-pubsub-");
    const first = start(dir);
    // Kill it once some micro-batches are committed and more are on the way.
    for (let i = 0; i < 1200 && records(dir).filter((r) => r.status === "succeeded").length < 3; i++) {
      if (first.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(first.child.exitCode, first.stderr()).toBeNull();
    first.child.kill("SIGKILL");
    await first.exited;
    const second = start(dir);
    expect(await second.exited, second.stderr()).toBe(0);

    const all = topic();
    // bronze: each position once; `_duplicate` on every re-send of a message_id.
    const bronze = await delta(dir, "bronze");
    const [b] = await duckQuery<{ n: bigint; diff: bigint; marked: bigint; wrong: bigint }>(
      `WITH want AS (SELECT message_id, published_at, row_number() OVER (PARTITION BY message_id ORDER BY pos) > 1 AS dup FROM ${all})
       SELECT (SELECT count(*) FROM ${bronze}) AS n,
              (SELECT count(*) FROM (SELECT message_id, published_at, dup FROM want EXCEPT ALL
                 SELECT message_id, published_at::TIMESTAMPTZ, _duplicate FROM ${bronze})) AS diff,
              (SELECT count(*) FILTER (WHERE _duplicate) FROM ${bronze}) AS marked,
              (SELECT count(*) FILTER (WHERE dup) FROM want) AS wrong`,
    );
    expect(Number(b!.n)).toBe(COUNT);
    expect(Number(b!.diff)).toBe(0);
    expect(b!.marked).toBe(b!.wrong);
    const resends = Number(b!.marked);
    expect(resends / COUNT).toBeGreaterThan(0.07);

    // eager: each message_id once, at its first delivery.
    const eager = await delta(dir, "eager");
    const [e] = await duckQuery<{ n: bigint; diff: bigint }>(
      `WITH want AS (SELECT message_id, published_at FROM ${all} QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY pos) = 1)
       SELECT (SELECT count(*) FROM ${eager}) AS n,
              (SELECT count(*) FROM (SELECT * FROM want EXCEPT ALL SELECT message_id, published_at::TIMESTAMPTZ FROM ${eager})) AS diff`,
    );
    expect(Number(e!.n)).toBe(COUNT - resends);
    expect(Number(e!.diff)).toBe(0);

    // merge: each key once, its latest message by created_at (out-of-order messages do not win).
    const [m] = await duckQuery<{ n: bigint; diff: bigint }>(
      `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
       WITH want AS (SELECT key, message_id, created_at FROM ${all}
                     QUALIFY row_number() OVER (PARTITION BY key ORDER BY created_at DESC, pos DESC) = 1)
       SELECT (SELECT count(*) FROM w.research.latest) AS n,
              (SELECT count(*) FROM (SELECT * FROM want EXCEPT ALL SELECT key, message_id, created_at::TIMESTAMPTZ FROM w.research.latest)) AS diff`,
    );
    expect(Number(m!.diff)).toBe(0);
    expect(Number(m!.n)).toBe(
      Number((await duckQuery<{ k: bigint }>(`SELECT count(DISTINCT key) AS k FROM ${all}`))[0]!.k),
    );

    // The records: per sink, what was written agrees with the tables (held writes excluded: a
    // batch the killed worker had committed to some sinks).
    const totals = new Map<string, { written: number; marked: number; dropped: number }>();
    for (const r of records(dir).filter((x) => x.status === "succeeded")) {
      for (const o of r.outputs) {
        if (o.status !== "written" || !o.dedup) continue;
        const t = totals.get(o.sink) ?? { written: 0, marked: 0, dropped: 0 };
        t.written += o.dedup.written;
        t.marked += o.dedup.marked ?? 0;
        t.dropped += o.dedup.dropped;
        totals.set(o.sink, t);
      }
    }
    expect(totals.get("parquet:lake/bronze")).toEqual({ written: COUNT, marked: resends, dropped: 0 });
    expect(totals.get("parquet:lake/eager")).toEqual({ written: COUNT - resends, marked: 0, dropped: resends });
    expect(totals.get("duckdb:research.latest")!.written + totals.get("duckdb:research.latest")!.dropped).toBe(COUNT);
  }, 300_000);
});
