import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { appendToDelta } from "./append-to-delta.js";
import { commitPath } from "./commit-delta.js";
import { deltaScanSql } from "./delta-scan-sql.js";
import { expireDeltaPartitions } from "./expire-delta-partitions.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";
import { vacuumDelta } from "./vacuum-delta.js";

const DAY = 86_400_000;
/** The run's clock in these tests: never the wall clock. */
const NOW = Date.parse("2026-03-10T12:00:00Z");

describe("expireDeltaPartitions", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open();
  });
  afterAll(() => engine.close());

  /** Rows per date of the table as of `version` (latest when undefined), as "date:count:idsum". */
  const rows = async (root: string, version?: number, column = "event_date") => {
    const snapshot = await readDeltaSnapshot(root, version === undefined ? {} : { version }, engine);
    const got = await engine.all<{ d: string; n: bigint; s: bigint }>(
      `SELECT CAST(${column} AS VARCHAR) AS d, count(*) AS n, sum(id)::BIGINT AS s FROM ${deltaScanSql(snapshot)} GROUP BY d ORDER BY d`,
    );
    return got.map((r) => `${r.d}:${Number(r.n)}:${Number(r.s)}`);
  };

  /** A table partitioned by event_date (DATE) over 2026-03-01 .. 2026-03-06, two appends. */
  const table = async () => {
    const root = join(mkdtempSync(join(tmpdir(), "sluice-expire-")), "events");
    for (let i = 0; i < 2; i++) {
      await engine.run(
        `CREATE OR REPLACE TABLE b AS SELECT ${i * 100} + r AS id, DATE '2026-03-01' + CAST(r % 6 AS INTEGER) AS event_date FROM range(60) t(r)`,
      );
      await appendToDelta(engine, root, "b", { partitionColumns: ["event_date"] });
    }
    return root;
  };

  it("removes the old partitions in one DELETE commit; older versions read until vacuum", async () => {
    const root = await table();
    const before = await rows(root);
    expect(before).toHaveLength(6);

    const dry = await expireDeltaPartitions(engine, root, { before: "2026-03-04", now: NOW, dryRun: true });
    expect(dry).toMatchObject({ version: 1, committed: false, column: "event_date", filesRemoved: 6 });
    expect(existsSync(commitPath(root, 2))).toBe(false);

    const done = await expireDeltaPartitions(engine, root, { before: "2026-03-04", now: NOW, runId: "r-1" });
    expect(done).toEqual({
      version: 2,
      committed: true,
      column: "event_date",
      partitions: ["event_date=2026-03-01", "event_date=2026-03-02", "event_date=2026-03-03"],
      filesRemoved: 6,
    });
    const lines = readFileSync(commitPath(root, 2), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0].commitInfo).toMatchObject({ operation: "DELETE", sluiceRunId: "r-1", isBlindAppend: false });
    expect(lines.slice(1).every((a) => a.remove?.dataChange === true && a.remove.deletionTimestamp === NOW)).toBe(true);
    expect(lines).toHaveLength(7);

    // The new version lacks the old partitions; the kept ones are row for row what they were.
    expect(await rows(root)).toEqual(before.slice(3));
    // Nothing expired any more: no empty commit.
    expect(await expireDeltaPartitions(engine, root, { before: "2026-03-04", now: NOW })).toMatchObject({
      version: 2,
      committed: false,
      filesRemoved: 0,
    });

    // Time travel: version 1 still reads every partition, until vacuum's retention (7 days) has passed.
    expect((await vacuumDelta(engine, root, { now: NOW + DAY })).deleted).toEqual([]);
    expect(await rows(root, 1)).toEqual(before);
    const vacuumed = await vacuumDelta(engine, root, { now: NOW + 8 * DAY });
    expect(vacuumed.deleted).toHaveLength(6);
    expect(vacuumed.deleted.every((p) => /^event_date=2026-03-0[123]\//.test(p))).toBe(true);
    expect(existsSync(join(root, "event_date=2026-03-01"))).toBe(false);
    expect(await rows(root)).toEqual(before.slice(3));
    await expect(rows(root, 1)).rejects.toThrow();
  });

  it("dates by a 'YYYY-MM-DD' string partition among others; leaves a table without a date partition alone", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "sluice-expire-")), "events");
    await engine.run(
      `CREATE OR REPLACE TABLE b AS SELECT r AS id, ['de', 'fr'][r % 2 + 1] AS country, strftime(DATE '2026-02-27' + CAST(r % 3 AS INTEGER), '%Y-%m-%d') AS day FROM range(12) t(r)`,
    );
    await appendToDelta(engine, root, "b", { partitionColumns: ["country", "day"] });
    const before = await rows(root, undefined, "day");
    const done = await expireDeltaPartitions(engine, root, { before: "2026-03-01", now: NOW });
    expect(done).toMatchObject({ version: 1, committed: true, column: "day", filesRemoved: 4 });
    expect(done.partitions).toEqual(["day=2026-02-27", "day=2026-02-28"]);
    expect(await rows(root, undefined, "day")).toEqual(before.slice(2));

    const flat = join(mkdtempSync(join(tmpdir(), "sluice-expire-")), "flat");
    await appendToDelta(engine, flat, "b", { partitionColumns: ["country"] });
    expect(await expireDeltaPartitions(engine, flat, { before: "2030-01-01", now: NOW })).toEqual({
      version: 0,
      committed: false,
      partitions: [],
      filesRemoved: 0,
    });
  });
});
