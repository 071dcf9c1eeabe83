import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { appendToDelta } from "./append-to-delta.js";
import { compactDelta } from "./compact-delta.js";
import { deltaScanSql } from "./delta-scan-sql.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";
import { vacuumDelta } from "./vacuum-delta.js";

describe("vacuumDelta", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open();
  });
  afterAll(() => engine.close());

  const count = async (root: string, version?: number) => {
    const snapshot = await readDeltaSnapshot(root, version === undefined ? {} : { version }, engine);
    const [row] = await engine.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${deltaScanSql(snapshot)}`);
    return Number(row!.n);
  };

  it("deletes only files no version within the retention references, and only sluice's", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "sluice-vacuum-")), "events");
    for (let i = 0; i < 4; i++) {
      await engine.run(
        `CREATE OR REPLACE TABLE b AS SELECT ${i * 10} + r AS id, 'p' || (r % 2) AS p FROM range(10) t(r)`,
      );
      await appendToDelta(engine, root, "b", { partitionColumns: ["p"] });
    }
    await compactDelta(engine, root);
    writeFileSync(join(root, "p=p0", "notes.txt"), "the user's\n");
    const files = () => readdirSync(join(root, "p=p0")).sort();
    expect(files().filter((f) => f.endsWith(".parquet"))).toHaveLength(5); // 4 compacted away + 1

    // Within the default retention (7 days) nothing goes: version 3 still reads.
    expect((await vacuumDelta(engine, root)).deleted).toEqual([]);
    expect(await count(root, 3)).toBe(40);

    // A week later: the 8 files compaction removed go (dry run first), the live ones and the user's stay.
    const later = Date.now() + 8 * 24 * 3_600_000;
    const dry = await vacuumDelta(engine, root, { now: later, dryRun: true });
    expect(dry.deleted).toHaveLength(8);
    expect(files().filter((f) => f.endsWith(".parquet"))).toHaveLength(5);
    const done = await vacuumDelta(engine, root, { now: later });
    expect(done.deleted).toEqual(dry.deleted);
    expect(files()).toEqual([...files().filter((f) => f.endsWith(".parquet")), "notes.txt"].sort());
    expect(files().filter((f) => f.endsWith(".parquet"))).toHaveLength(1);
    expect(await count(root)).toBe(40);
    expect(existsSync(join(root, "_delta_log"))).toBe(true);
  });
});
