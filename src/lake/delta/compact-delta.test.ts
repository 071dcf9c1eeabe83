import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { appendToDelta } from "./append-to-delta.js";
import { compactDelta } from "./compact-delta.js";
import { deltaScanSql } from "./delta-scan-sql.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";

const FILES = 500;

/** Rows of the table at its latest version: count, distinct ids, id sum. */
async function content(engine: Engine, root: string, version?: number) {
  const snapshot = await readDeltaSnapshot(root, version === undefined ? {} : { version }, engine);
  const [row] = await engine.all<{ n: bigint; ids: bigint; s: bigint }>(
    `SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(id)::BIGINT AS s FROM ${deltaScanSql(snapshot)}`,
  );
  return {
    version: snapshot.version,
    files: snapshot.files.length,
    n: Number(row!.n),
    ids: Number(row!.ids),
    s: Number(row!.s),
  };
}

describe("compactDelta", () => {
  let engine: Engine;
  let reader: Engine;
  beforeAll(async () => {
    engine = await Engine.open();
    reader = await Engine.open();
  });
  afterAll(() => {
    engine.close();
    reader.close();
  });

  it(`merges ${FILES} small files into one per partition in one commit; readers never see doubled or missing rows`, async () => {
    const root = join(mkdtempSync(join(tmpdir(), "sluice-compact-")), "events");
    for (let i = 0; i < FILES; i++) {
      await engine.run(
        `CREATE OR REPLACE TABLE batch AS SELECT ${i * 10} + r AS id, ['a', 'b', 'c'][${i % 3} + 1] AS p FROM range(10) t(r)`,
      );
      await appendToDelta(engine, root, "batch", { partitionColumns: ["p"], checkpointInterval: 50 });
    }
    const before = await content(engine, root);
    expect(before).toMatchObject({ files: FILES, n: FILES * 10, ids: FILES * 10 });

    // A reader keeps reading the latest version while compaction runs.
    let reading = true;
    const seen: number[] = [];
    const readLoop = (async () => {
      while (reading) seen.push((await content(reader, root)).n);
    })();
    const result = await compactDelta(engine, root);
    reading = false;
    await readLoop;

    expect(result).toMatchObject({ version: before.version + 1, partitions: 3, filesRemoved: FILES, filesAdded: 3 });
    const after = await content(engine, root);
    expect(after).toEqual({ ...before, version: before.version + 1, files: 3 });
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([FILES * 10]));
    // The version before compaction still reads (its files stay until vacuum).
    expect(await content(engine, root, before.version)).toEqual(before);
    const commit = (await readDeltaSnapshot(root, {}, engine)).commitInfo as { operation?: string } | undefined;
    expect(commit?.operation).toBe("OPTIMIZE");
    // Nothing left to compact: no new version.
    expect(await compactDelta(engine, root)).toMatchObject({ version: after.version, filesRemoved: 0 });
  });

  it("with smallerThan leaves files of that size alone: only the small files since are compacted", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "sluice-compact-")), "events");
    const append = async (from: number, rows: number) => {
      await engine.run(`CREATE OR REPLACE TABLE batch AS SELECT ${from} + r AS id, 'a' AS p FROM range(${rows}) t(r)`);
      await appendToDelta(engine, root, "batch", { partitionColumns: ["p"] });
    };
    await append(0, 200_000); // one large file
    const large = (await readDeltaSnapshot(root, {}, engine)).files[0]!;
    for (let i = 0; i < 4; i++) await append(1_000_000 + i * 10, 10);
    const result = await compactDelta(engine, root, { minFiles: 2, smallerThan: large.size });
    expect(result).toMatchObject({ filesRemoved: 4, filesAdded: 1 });
    const files = (await readDeltaSnapshot(root, {}, engine)).files;
    expect(files.map((f) => f.path)).toContain(large.path);
    expect(files).toHaveLength(2);
    expect((await content(engine, root)).n).toBe(200_040);
  });
});
