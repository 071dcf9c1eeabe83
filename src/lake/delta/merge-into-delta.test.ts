import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { appendToDelta } from "./append-to-delta.js";
import { deltaScanSql } from "./delta-scan-sql.js";
import { mergeIntoDelta } from "./merge-into-delta.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";

let engine: Engine;
let root: string;
beforeEach(async () => {
  engine = await Engine.open();
  root = join(mkdtempSync(join(tmpdir(), "sluice-merge-")), "t");
});
afterEach(() => engine.close());

/** Ten days of 100 rows each (ids grow with the day), one append per day: one file per day. */
async function tenDays(): Promise<void> {
  for (let d = 0; d < 10; d++) {
    await engine.run(
      `CREATE OR REPLACE TABLE day AS SELECT ${d * 100} + r AS id, DATE '2026-01-01' + ${d} AS event_date, 'v0' AS v FROM range(100) t(r)`,
    );
    await appendToDelta(engine, root, "day", { partitionColumns: ["event_date"], appId: "load", txnVersion: d });
  }
}

async function rows(version?: number): Promise<{ id: number; v: string; d: string }[]> {
  const snapshot = await readDeltaSnapshot(root, version === undefined ? {} : { version }, engine);
  const out = await engine.all<{ id: bigint; v: string; d: unknown }>(
    `SELECT id, v, event_date::VARCHAR AS d FROM ${deltaScanSql(snapshot)} ORDER BY id`,
  );
  return out.map((r) => ({ id: Number(r.id), v: r.v, d: String(r.d) }));
}

describe("mergeIntoDelta", () => {
  it("rewrites only the files holding the batch's keys, in one MERGE commit; other files stay as they were", async () => {
    await tenDays();
    const before = await readDeltaSnapshot(root, {}, engine);
    // Updates of ids 950..959 (the last day) and two new ids; key stats prune the other nine files.
    await engine.run(
      `CREATE TABLE batch AS SELECT 950 + r AS id, DATE '2026-01-10' AS event_date, 'v1' AS v FROM range(10) t(r)
       UNION ALL SELECT 1000 + r, DATE '2026-01-11', 'new' FROM range(2) t(r)`,
    );
    const result = await mergeIntoDelta(engine, root, "batch", {
      key: ["id"],
      appId: "sluice:b1",
      txnVersion: 0,
      runId: "r1",
    });
    expect(result).toMatchObject({ status: "committed", version: 10, filesRemoved: 1, rowsKept: 90 });
    const after = await readDeltaSnapshot(root, {}, engine);
    expect(after.commitInfo).toMatchObject({ operation: "MERGE", sluiceRunId: "r1" });
    const untouched = before.files.filter((f) => f.partitionValues.event_date !== "2026-01-10").map((f) => f.path);
    expect(after.files.map((f) => f.path)).toEqual(expect.arrayContaining(untouched));
    const all = await rows();
    expect(all).toHaveLength(1002);
    expect(new Set(all.map((r) => r.id)).size).toBe(1002);
    expect(all.filter((r) => r.v === "v1").map((r) => r.id)).toEqual([...Array(10).keys()].map((i) => 950 + i));
    expect(all.filter((r) => r.v === "new").map((r) => r.d)).toEqual(["2026-01-11", "2026-01-11"]);
    // Time travel: the version before the merge is intact.
    expect((await rows(9)).filter((r) => r.v !== "v0")).toEqual([]);

    // The same batch again (same txn): nothing written.
    const again = await mergeIntoDelta(engine, root, "batch", { key: ["id"], appId: "sluice:b1", txnVersion: 0 });
    expect(again.status).toBe("held");
    expect((await readDeltaSnapshot(root, {}, engine)).version).toBe(10);
  });

  it("a key whose row moved partition is still found by the file's stats, and replaced (never doubled)", async () => {
    await tenDays();
    await engine.run(`CREATE TABLE batch AS SELECT 5::BIGINT AS id, DATE '2026-02-01' AS event_date, 'moved' AS v`);
    await mergeIntoDelta(engine, root, "batch", { key: ["id"], appId: "sluice:m", txnVersion: 0 });
    const all = await rows();
    expect(all.filter((r) => r.id === 5)).toEqual([{ id: 5, v: "moved", d: "2026-02-01" }]);
    expect(all).toHaveLength(1000);
  });

  it("two merges racing: the loser conflicts (transient) instead of losing the winner's update", async () => {
    await tenDays();
    await engine.run(`CREATE TABLE a AS SELECT 10::BIGINT AS id, DATE '2026-01-01' AS event_date, 'a' AS v`);
    const other = await Engine.open();
    await other.run(`CREATE TABLE b AS SELECT 20::BIGINT AS id, DATE '2026-01-01' AS event_date, 'b' AS v`);
    try {
      const settled = await Promise.allSettled([
        mergeIntoDelta(engine, root, "a", { key: ["id"], appId: "sluice:a", txnVersion: 0 }),
        mergeIntoDelta(other, root, "b", { key: ["id"], appId: "sluice:b", txnVersion: 0 }),
      ]);
      // Both touch the 2026-01-01 file: when both planned against version 9, one commits and the
      // other is told to plan again (when one finished first, the other planned against it).
      const lost = settled.flatMap((s, i) => (s.status === "rejected" ? [{ i, reason: String(s.reason) }] : []));
      expect(lost.length).toBeLessThanOrEqual(1);
      for (const { i, reason } of lost) {
        expect(reason).toMatch(/concurrent commit .* version 10 won/);
        const [name, on] = i === 0 ? ["a", engine] : ["b", other];
        await mergeIntoDelta(on as Engine, root, name as string, {
          key: ["id"],
          appId: `sluice:${name}`,
          txnVersion: 0,
        });
      }
    } finally {
      other.close();
    }
    const all = await rows();
    expect(all.find((r) => r.id === 10)?.v).toBe("a");
    expect(all.find((r) => r.id === 20)?.v).toBe("b");
    expect(all).toHaveLength(1000);
  });
});
