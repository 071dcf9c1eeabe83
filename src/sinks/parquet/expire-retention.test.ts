import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { expirePartitioned } from "./expire-partitioned.js";
import { expireSnapshots } from "./expire-snapshots.js";
import { VersionedDir } from "./versioned-dir.js";

describe("retention of the Hive and snapshot layouts", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open();
  });
  afterAll(() => engine.close());

  /** A published tree partitioned by country and event_date (2026-03-01 .. 03-04), plus a file of the user's. */
  const tree = async () => {
    const root = join(mkdtempSync(join(tmpdir(), "sluice-retain-")), "events");
    const dir = new VersionedDir(root);
    const staged = dir.stage();
    await engine.run(
      `COPY (SELECT r AS id, ['de', 'fr'][(r // 4) % 2 + 1] AS country, DATE '2026-03-01' + CAST(r % 4 AS INTEGER) AS event_date FROM range(40) t(r))
       TO '${staged}' (FORMAT parquet, PARTITION_BY (country, event_date), FILENAME_PATTERN 'part-b1-{i}')`,
    );
    writeFileSync(join(staged, "country=de", "event_date=2026-03-01", "notes.txt"), "the user's\n");
    dir.commit(staged, "r-1");
    return root;
  };

  const rows = async (root: string) => {
    const got = await engine.all<{ d: string; n: bigint; s: bigint }>(
      `SELECT CAST(event_date AS VARCHAR) AS d, count(*) AS n, sum(id)::BIGINT AS s FROM read_parquet('${root}/**/*.parquet', hive_partitioning = true) GROUP BY d ORDER BY d`,
    );
    return got.map((r) => `${r.d}:${Number(r.n)}:${Number(r.s)}`);
  };

  it("publishes the next tree version without the old partitions' part files; the rest is hard-linked", async () => {
    const root = await tree();
    const before = await rows(root);
    const old = readlinkSync(root);
    const opts = { before: "2026-03-03", partitionBy: ["country", "event_date"], label: "r-2" };
    expect(expirePartitioned(root, { ...opts, dryRun: true })).toMatchObject({ filesRemoved: 4 });
    expect(readlinkSync(root)).toBe(old);

    const done = expirePartitioned(root, opts);
    expect(done).toEqual({
      column: "event_date",
      partitions: ["event_date=2026-03-01", "event_date=2026-03-02"],
      filesRemoved: 4,
    });
    expect(readlinkSync(root)).not.toBe(old);
    expect(await rows(root)).toEqual(before.slice(2));
    // The user's file stays (and so does its folder); the emptied partition folders go.
    expect(readdirSync(join(root, "country=de", "event_date=2026-03-01"))).toEqual(["notes.txt"]);
    expect(existsSync(join(root, "country=fr", "event_date=2026-03-02"))).toBe(false);
    expect(expirePartitioned(root, { ...opts, label: "r-3" })).toMatchObject({ filesRemoved: 0 });
  });

  it("leaves alone a plain folder, and a tree without a date partition column", async () => {
    const plain = join(mkdtempSync(join(tmpdir(), "sluice-retain-")), "events");
    mkdirSync(join(plain, "event_date=2020-01-01"), { recursive: true });
    writeFileSync(join(plain, "event_date=2020-01-01", "part-x-0.parquet"), "");
    expect(expirePartitioned(plain, { before: "2026-01-01", label: "r" }).skipped).toMatch(/did not publish/);
    expect(existsSync(join(plain, "event_date=2020-01-01", "part-x-0.parquet"))).toBe(true);

    const root = await tree();
    const done = expirePartitioned(root, { before: "2030-01-01", partitionBy: ["country"], label: "r" });
    expect(done).toEqual({ partitions: [], filesRemoved: 0, skipped: "no date partition column among country" });
  });

  it("deletes snapshots older than the cutoff, never the latest's, the newest, or other files", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-retain-"));
    const names = [
      "events_20260101_000000.parquet",
      "events_20260102_000000.parquet",
      "events_20260102_000000_2.parquet",
      "events_20260301_000000.parquet",
      "other_20260101_000000.parquet",
      "events_x_20260101_000000.parquet",
      "events_2026.parquet",
      "notes.txt",
    ];
    for (const n of names) writeFileSync(join(dir, n), n);
    // latest points at an older snapshot (say, a restore): it stays.
    linkSync(join(dir, "events_20260102_000000.parquet"), join(dir, "events_latest.parquet"));
    const beforeMs = Date.parse("2026-02-01T00:00:00Z");
    const dry = expireSnapshots(dir, "events", { beforeMs, dryRun: true });
    expect(dry).toEqual(["events_20260101_000000.parquet", "events_20260102_000000_2.parquet"]);
    expect(readdirSync(dir)).toHaveLength(names.length + 1);
    expect(expireSnapshots(dir, "events", { beforeMs })).toEqual(dry);
    expect(readdirSync(dir).sort()).toEqual([...names.filter((n) => !dry.includes(n)), "events_latest.parquet"].sort());
    // Even with everything older than the cutoff, the newest snapshot stays.
    expect(expireSnapshots(dir, "events", { beforeMs: Date.parse("2030-01-01") })).toEqual([]);
    expect(expireSnapshots(join(dir, "missing"), "events", { beforeMs })).toEqual([]);
  });
});
