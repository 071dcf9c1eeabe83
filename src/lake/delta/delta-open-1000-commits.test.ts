// A table of 1,000 small commits (written with commitDelta; the data files are never opened by a
// snapshot read) opens from its checkpoint: counts are asserted, open times are printed for the report.
import { cpSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { commitDelta } from "./commit-delta.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";
import { writeDeltaCheckpoint } from "./write-delta-checkpoint.js";

const schema = JSON.stringify({ type: "struct", fields: [{ name: "id", type: "long", nullable: true, metadata: {} }] });

describe("a Delta table of 1,000 commits", () => {
  let engine: Engine;
  let dir: string;
  beforeAll(async () => {
    engine = await Engine.open({ threads: 1 });
    dir = mkdtempSync(join(tmpdir(), "delta-1000-"));
  });
  afterAll(() => {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens from its checkpoint with the same file set as a full JSON replay", async () => {
    const root = join(dir, "t");
    const add = (v: number) => ({
      add: {
        path: `part-${v}.parquet`,
        partitionValues: {},
        size: 100,
        modificationTime: v,
        dataChange: true,
        stats: '{"numRecords":1}',
      },
    });
    for (let v = 0; v < 1000; v++) {
      const actions =
        v === 0
          ? [
              { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
              { metaData: { id: "t", schemaString: schema, partitionColumns: [], createdTime: 0 } },
              add(0),
            ]
          : [
              add(v),
              ...(v % 7 === 0
                ? [{ remove: { path: `part-${v - 1}.parquet`, deletionTimestamp: v, dataChange: true } }]
                : []),
              { txn: { appId: "a", version: v } },
            ];
      const r = await commitDelta(root, actions as never, { readVersion: v - 1, operation: "WRITE" });
      expect(r.status).toBe("committed");
      if (v > 0 && v % 10 === 0) await writeDeltaCheckpoint(engine, root, v);
    }
    const noCp = join(dir, "nocp");
    cpSync(root, noCp, { recursive: true });
    for (const n of readdirSync(join(noCp, "_delta_log")))
      if (n.includes("checkpoint")) unlinkSync(join(noCp, "_delta_log", n));

    const time = async (table: string) => {
      const times: number[] = [];
      let snap = await readDeltaSnapshot(table, {}, engine);
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        snap = await readDeltaSnapshot(table, {}, engine);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return { snap, median: times[2]! };
    };
    const withCp = await time(root);
    const without = await time(noCp);
    console.log(
      `open 1,000 commits: with checkpoints ${withCp.median.toFixed(1)} ms, without ${without.median.toFixed(1)} ms`,
    );
    expect(withCp.snap.version).toBe(999);
    expect(withCp.snap.checkpointVersion).toBe(990);
    expect(without.snap.checkpointVersion).toBeUndefined();
    const removed = Math.floor(999 / 7);
    expect(withCp.snap.files).toHaveLength(1000 - removed);
    expect(withCp.snap.files.map((f) => f.relPath).sort()).toEqual(without.snap.files.map((f) => f.relPath).sort());
    expect(withCp.snap.txns.a?.version).toBe(999);
  });
});
