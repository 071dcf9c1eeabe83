import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { testRunContext } from "../../../test/support/run-context.js";
import { parquetSinkSpec } from "../../config/spec.js";
import { Engine } from "../../engine/engine.js";
import { ConfigError } from "../../errors.js";
import type { RunContext } from "../../plan/batch-context.js";
import { parquetScan } from "./parquet-scan.js";
import { ParquetSink } from "./parquet-sink.js";
import { VersionedDir } from "./versioned-dir.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

/** A run context over a real engine and a fresh data_dir; `runId` and start time as a run would have them. */
async function context(dataDir: string, runId: string, engine?: Engine): Promise<RunContext> {
  const eng = engine ?? (await Engine.open());
  if (!engine) engines.push(eng);
  const stamp = runId.slice(0, 16);
  const startedAt = new Date(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
  );
  return testRunContext(eng, {
    runId,
    batchId: `${runId}-b1`,
    pipeline: "events",
    dataDir,
    warehousePath: join(dataDir, "duckdb", "analytics.duckdb"),
    startedAt,
  });
}

const sink = (config: Record<string, unknown>) =>
  new ParquetSink(parquetSinkSpec.parse({ type: "parquet", ...config }));
const tempDir = () => mkdtempSync(join(tmpdir(), "sluice-parquet-"));
const visible = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith("."));

/** Rows with a VARCHAR partition value that looks like a number ('01') and timestamps across two UTC days. */
const BATCH = (offset: number, n: number) =>
  `SELECT range + ${offset} AS id, '0' || (range % 2) AS region,
          TIMESTAMPTZ '2026-03-01 22:00:00+00' + (range + ${offset}) * INTERVAL 1 HOUR AS ts
   FROM range(${n})`;

describe("ParquetSink, snapshot layout", () => {
  it("append writes a snapshot holding the previous latest plus the batch, and latest points at it", async () => {
    const dataDir = tempDir();
    const s = sink({ path: "raw/events" });
    const ctx1 = await context(dataDir, "20260301T020000Z_aaaaaa");
    await ctx1.engine.run(`CREATE TABLE b1 AS ${BATCH(0, 5)}`);
    const first = await s.write(ctx1, "b1", { extent: "replace", batchId: ctx1.runId });
    expect(first).toMatchObject({ path: "raw/events/events_20260301_020000.parquet", rows: 5, status: "written" });

    const ctx2 = await context(dataDir, "20260302T020000Z_bbbbbb", ctx1.engine);
    await ctx1.engine.run(`CREATE TABLE b2 AS SELECT *, 'new' AS extra FROM (${BATCH(100, 3)})`);
    const second = await s.write(ctx2, "b2", { extent: "append", batchId: ctx2.runId });
    expect(second).toMatchObject({ path: "raw/events/events_20260302_020000.parquet", rows: 3 });

    const dir = join(dataDir, "raw", "events");
    expect(visible(dir).sort()).toEqual([
      "events_20260301_020000.parquet",
      "events_20260302_020000.parquet",
      "events_latest.parquet",
    ]);
    const latest = join(dir, "events_latest.parquet");
    expect(second.files).toEqual([latest]);
    const [r] = await ctx1.engine.all<{ n: bigint; extra: bigint }>(
      `SELECT count(*) n, count(extra) extra FROM read_parquet('${latest}')`,
    );
    expect(r).toEqual({ n: 8n, extra: 3n });
    const [diff] = await ctx1.engine.all<{ n: bigint }>(
      `SELECT count(*) n FROM (FROM '${latest}' EXCEPT ALL FROM '${dir}/events_20260302_020000.parquet')`,
    );
    expect(diff?.n).toBe(0n);
    // existing() reads what latest holds now.
    const existing = await s.existing(ctx2);
    expect(await ctx1.engine.count(existing!)).toBe(8);
  });

  it("takes a free name when the run's timestamp is taken, and sweeps leftovers of crashed writes", async () => {
    const dataDir = tempDir();
    const dir = join(dataDir, "raw", "events");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ".events_20260101_000000.parquet.tmp-0badf00d"), "partial");
    const ctx = await context(dataDir, "20260301T020000Z_aaaaaa");
    await ctx.engine.run(`CREATE TABLE b AS ${BATCH(0, 2)}`);
    const s = sink({ path: "raw/events" });
    await s.write(ctx, "b", { extent: "replace", batchId: ctx.runId });
    const again = await s.write(ctx, "b", { extent: "replace", batchId: ctx.runId });
    expect(again.path).toBe("raw/events/events_20260301_020000_2.parquet");
    expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]);
  });
});

describe("ParquetSink, partitioned layout", () => {
  it("append adds part files by partition; partition columns come back with their written types", async () => {
    const dataDir = tempDir();
    const s = sink({ path: "lake/events", layout: "partitioned", partition_by: ["event_date", "region"] });
    const ctx1 = await context(dataDir, "20260301T020000Z_aaaaaa");
    expect(await s.existing(ctx1)).toBeUndefined();
    await ctx1.engine.run(`CREATE TABLE b1 AS ${BATCH(0, 4)}`);
    const first = await s.write(ctx1, "b1", { extent: "append", batchId: ctx1.runId });
    const ctx2 = await context(dataDir, "20260302T020000Z_bbbbbb", ctx1.engine);
    await ctx1.engine.run(`CREATE TABLE b2 AS ${BATCH(10, 2)}`);
    const second = await s.write(ctx2, "b2", { extent: "append", batchId: ctx2.runId });
    expect(first).toMatchObject({ path: "lake/events", rows: 4 });
    expect(second).toMatchObject({ path: "lake/events", rows: 2, files: [join(dataDir, "lake/events/**/*.parquet")] });

    const root = join(dataDir, "lake", "events");
    expect(visible(root).sort()).toEqual(["event_date=2026-03-01", "event_date=2026-03-02"]);
    expect(visible(join(root, "event_date=2026-03-02", "region=00")).sort()).toEqual([
      "part-20260301T020000Z_aaaaaa-0.parquet",
      "part-20260302T020000Z_bbbbbb-0.parquet",
    ]);
    // Only the published version is left beside the dataset.
    expect(readdirSync(join(dataDir, "lake")).filter((f) => f.startsWith(".")).length).toBe(1);

    const existing = (await s.existing(ctx2))!;
    const types = await ctx1.engine.all<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM ${existing}`,
    );
    expect(types.map((t) => `${t.column_name} ${t.column_type}`).sort()).toEqual([
      "id BIGINT",
      "region VARCHAR",
      "ts TIMESTAMP WITH TIME ZONE",
    ]);
    const rows = await ctx1.engine.all<{ region: string; n: bigint }>(
      `SELECT region, count(*) n FROM ${existing} GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { region: "00", n: 3n },
      { region: "01", n: 3n },
    ]);
    // A view keeps the derived event_date, typed DATE and equal to the UTC date of ts.
    const view = (await parquetScan(ctx1.engine, second.files!, { withDerived: true }))!;
    const [check] = await ctx1.engine.all<{ t: string; wrong: bigint }>(
      `SELECT any_value(typeof(event_date)) t, count(*) FILTER (WHERE event_date <> CAST(timezone('UTC', ts) AS DATE)) wrong FROM ${view}`,
    );
    expect(check).toEqual({ t: "DATE", wrong: 0n });
  });

  it("replace swaps the whole tree in one step and leaves no old version behind", async () => {
    const dataDir = tempDir();
    const s = sink({ path: "lake/events", layout: "partitioned", compression: "zstd" });
    const ctx = await context(dataDir, "20260301T020000Z_aaaaaa");
    await ctx.engine.run(`CREATE TABLE b1 AS ${BATCH(0, 30)}`);
    await ctx.engine.run(`CREATE TABLE b2 AS ${BATCH(1000, 3)}`);
    await s.write(ctx, "b1", { extent: "replace", batchId: ctx.runId });
    const ctx2 = await context(dataDir, "20260302T020000Z_bbbbbb", ctx.engine);
    const out = await s.write(ctx2, "b2", { extent: "replace", batchId: ctx2.runId });
    const [r] = await ctx.engine.all<{ n: bigint; min: bigint }>(
      `SELECT count(*) n, min(id) min FROM read_parquet('${out.files![0]}', hive_partitioning = true)`,
    );
    expect(r).toEqual({ n: 3n, min: 1000n });
    const root = join(dataDir, "lake", "events");
    expect(lstatSync(root).isSymbolicLink()).toBe(true);
    expect(readdirSync(join(dataDir, "lake")).filter((f) => f.startsWith("."))).toEqual([readlinkSync(root)]);
  });

  it("an unknown partition column is a config error with a suggestion", async () => {
    const ctx = await context(tempDir(), "20260301T020000Z_aaaaaa");
    await ctx.engine.run(`CREATE TABLE b AS ${BATCH(0, 2)}`);
    const s = sink({ path: "lake/events", layout: "partitioned", partition_by: ["regoin"] });
    const err = await s.write(ctx, "b", { extent: "append", batchId: ctx.runId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).hint).toContain("`region`");
  });
});

describe("VersionedDir after a crash", () => {
  /** A published dataset with one file, as `commit` leaves it. */
  function published(): { dir: VersionedDir; parent: string } {
    const parent = tempDir();
    const dir = new VersionedDir(join(parent, "events"));
    const staged = dir.stage();
    writeFileSync(join(staged, "old.parquet"), "old");
    dir.commit(staged, "20260301T020000Z_aaaaaa");
    return { dir, parent };
  }

  it("a crash while building the next version: the old version stays, repair removes the aside folder", () => {
    const { dir, parent } = published();
    const staged = dir.stage();
    writeFileSync(join(staged, "new.parquet"), "half");
    dir.repair();
    expect(existsSync(staged)).toBe(false);
    expect(readdirSync(dir.root)).toEqual(["old.parquet"]);
    expect(readdirSync(parent).filter((f) => f.startsWith(".")).length).toBe(1);
  });

  it("a crash after naming the new version but before linking it: the old version stays and the orphan goes", () => {
    const { dir, parent } = published();
    const staged = dir.stage();
    writeFileSync(join(staged, "new.parquet"), "new");
    renameSync(staged, join(parent, ".events.v-20260302T020000Z_bbbbbb-123456"));
    dir.repair();
    expect(readdirSync(dir.root)).toEqual(["old.parquet"]);
    expect(readdirSync(parent).filter((f) => f.startsWith(".")).length).toBe(1);
  });

  it("a plain folder is never replaced (sluice did not write it); one an older sluice moved aside is put back", () => {
    const parent = tempDir();
    const root = join(parent, "events");
    mkdirSync(root);
    writeFileSync(join(root, "hand.parquet"), "hand");
    const dir = new VersionedDir(root);
    expect(dir.current()).toBe(root);
    // What a crash leaves between moving the plain folder aside and publishing the link to the new version.
    renameSync(root, join(parent, ".events.v-0-legacy-abcdef"));
    mkdirSync(join(parent, ".events.v-20260302T020000Z_bbbbbb-123456"));
    symlinkSync(".events.v-20260302T020000Z_bbbbbb-123456", join(parent, ".events.tmp-0000aaaa"));
    dir.repair();
    expect(lstatSync(root).isDirectory()).toBe(true);
    expect(readdirSync(root)).toEqual(["hand.parquet"]);
    expect(readdirSync(parent)).toEqual(["events"]);

    const staged = dir.stage();
    writeFileSync(join(staged, "new.parquet"), "new");
    expect(() => dir.commit(staged, "20260302T020000Z_bbbbbb")).toThrow(/folder sluice did not write.*hand\.parquet/);
    expect(lstatSync(root).isDirectory()).toBe(true);
    expect(readdirSync(root)).toEqual(["hand.parquet"]);
  });
});
