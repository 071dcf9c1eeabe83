// A Delta table written by hand in a temp folder (JSON commits, Parquet data and a checkpoint written with
// DuckDB COPY): torn _last_checkpoint, txn map, time travel errors, cleaned commits, schema evolution,
// an empty snapshot and the column-mapping refusal.
import { cpSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import { createDeltaView } from "./delta-scan-sql.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";

const field = (name: string, type: string) => ({ name, type, nullable: true, metadata: {} });
const schemaV0 = { type: "struct", fields: [field("id", "long"), field("ts", "timestamp"), field("day", "date")] };
const schemaV3 = { type: "struct", fields: [...schemaV0.fields, field("extra", "integer")] };
const meta = (schema: object, configuration: Record<string, string> = {}) => ({
  metaData: {
    id: "hand",
    format: { provider: "parquet", options: {} },
    schemaString: JSON.stringify(schema),
    partitionColumns: ["day"],
    configuration,
    createdTime: 1000,
  },
});
const add = (path: string, day: string | null) => ({
  add: {
    path: encodeURI(path),
    partitionValues: { day },
    size: 1,
    modificationTime: 1,
    dataChange: true,
    stats: '{"numRecords":2}',
  },
});
const remove = (path: string) => ({ remove: { path: encodeURI(path), deletionTimestamp: 1, dataChange: true } });
const info = (timestamp: number) => ({ commitInfo: { timestamp, operation: "WRITE" } });
const txn = (appId: string, version: number) => ({ txn: { appId, version, lastUpdated: 5 } });
const name = (v: number) => `${String(v).padStart(20, "0")}.json`;

describe("a hand-written Delta table", () => {
  let engine: Engine;
  let dir: string;
  let root: string;

  function commit(table: string, v: number, actions: object[]): void {
    writeFileSync(join(table, "_delta_log", name(v)), `${actions.map((a) => JSON.stringify(a)).join("\n")}\n`);
  }

  async function dataFile(rel: string, ids: number[], extra: boolean): Promise<void> {
    const path = join(root, rel);
    mkdirSync(join(path, ".."), { recursive: true });
    const values = ids.map((i) => `(${i}, TIMESTAMPTZ '2024-01-0${i} 10:00:00+00'${extra ? `, ${i * 10}` : ""})`);
    const cols = extra ? "id, ts, extra" : "id, ts";
    await engine.run(
      `COPY (SELECT * FROM (VALUES ${values.join(", ")}) t(${cols})) TO ${literal(path)} (FORMAT parquet)`,
    );
  }

  beforeAll(async () => {
    engine = await Engine.open({ threads: 1 });
    dir = mkdtempSync(join(tmpdir(), "sluice-delta-"));
    root = join(dir, "events");
    mkdirSync(join(root, "_delta_log"), { recursive: true });
    await dataFile("day=2024-01-01/a b.parquet", [1, 2], false);
    await dataFile("day=2024-01-02/b.parquet", [3, 4], false);
    await dataFile("day=__HIVE_DEFAULT_PARTITION__/c.parquet", [5, 6], false);
    await dataFile("day=2024-01-03/d.parquet", [7, 8], true);
    const protocol = { protocol: { minReaderVersion: 1, minWriterVersion: 2 } };
    commit(root, 0, [
      info(1000),
      protocol,
      meta(schemaV0),
      add("day=2024-01-01/a b.parquet", "2024-01-01"),
      txn("pipeA", 1),
    ]);
    commit(root, 1, [info(2000), add("day=2024-01-02/b.parquet", "2024-01-02"), txn("pipeA", 2), txn("pipeB", 7)]);
    commit(root, 2, [
      info(3000),
      remove("day=2024-01-01/a b.parquet"),
      add("day=__HIVE_DEFAULT_PARTITION__/c.parquet", null),
    ]);
    // The checkpoint of version 2 as Spark writes one: one action struct per row, remove tombstones kept.
    const cp = join(root, "_delta_log", "00000000000000000002.checkpoint.parquet");
    const m = meta(schemaV0).metaData;
    await engine.run(`COPY (
      SELECT * FROM (VALUES
        ({'minReaderVersion': 1, 'minWriterVersion': 2}, NULL, NULL, NULL, NULL),
        (NULL, {'id': 'hand', 'schemaString': ${literal(m.schemaString)}, 'partitionColumns': ['day'], 'configuration': MAP {}::MAP(VARCHAR, VARCHAR), 'createdTime': 1000::BIGINT}, NULL, NULL, NULL),
        (NULL, NULL, {'path': 'day=2024-01-02/b.parquet', 'partitionValues': MAP {'day': '2024-01-02'}, 'size': 1::BIGINT, 'modificationTime': 1::BIGINT, 'dataChange': false, 'stats': NULL::VARCHAR}, NULL, NULL),
        (NULL, NULL, {'path': 'day=__HIVE_DEFAULT_PARTITION__/c.parquet', 'partitionValues': MAP {'day': NULL::VARCHAR}, 'size': 1::BIGINT, 'modificationTime': 1::BIGINT, 'dataChange': false, 'stats': NULL::VARCHAR}, NULL, NULL),
        (NULL, NULL, NULL, {'path': 'day=2024-01-01/a%20b.parquet', 'deletionTimestamp': 1::BIGINT, 'dataChange': true}, NULL),
        (NULL, NULL, NULL, NULL, {'appId': 'pipeA', 'version': 2::BIGINT, 'lastUpdated': 5::BIGINT}),
        (NULL, NULL, NULL, NULL, {'appId': 'pipeB', 'version': 7::BIGINT, 'lastUpdated': 5::BIGINT})
      ) t(protocol, metaData, "add", remove, txn)) TO ${literal(cp)} (FORMAT parquet)`);
    // What a kill during a non-atomic write of _last_checkpoint leaves.
    writeFileSync(join(root, "_delta_log", "_last_checkpoint"), '{"version":2,"si');
    commit(root, 3, [info(4000), meta(schemaV3), add("day=2024-01-03/d.parquet", "2024-01-03"), txn("pipeA", 3)]);
    // Hidden side files are ignored.
    writeFileSync(join(root, "_delta_log", `.${name(4)}.crc`), "junk");
  });
  afterAll(() => {
    engine?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reads the latest version from the checkpoint despite a torn _last_checkpoint", async () => {
    const snapshot = await readDeltaSnapshot(root, {}, engine);
    expect(snapshot.version).toBe(3);
    expect(snapshot.checkpointVersion).toBe(2);
    expect(snapshot.txns).toEqual({ pipeA: { version: 3, lastUpdated: 5 }, pipeB: { version: 7, lastUpdated: 5 } });
    expect(snapshot.files.map((f) => f.relPath).sort()).toEqual([
      "day=2024-01-02/b.parquet",
      "day=2024-01-03/d.parquet",
      "day=__HIVE_DEFAULT_PARTITION__/c.parquet",
    ]);
    expect(snapshot.commitInfo?.timestamp).toBe(4000);
    await createDeltaView(engine, "hand_latest", snapshot);
    expect(await engine.columns("hand_latest")).toEqual([
      { name: "id", type: "BIGINT" },
      { name: "ts", type: "TIMESTAMP WITH TIME ZONE" },
      { name: "day", type: "DATE" },
      { name: "extra", type: "INTEGER" },
    ]);
    const rows = await engine.all<{ id: bigint; day: string | null; extra: number | null; ts: string }>(
      "SELECT id, day::VARCHAR AS day, extra, strftime(ts, '%Y-%m-%d %H:%M') AS ts FROM hand_latest ORDER BY id",
    );
    expect(rows.map((r) => [Number(r.id), r.day, r.extra])).toEqual([
      [3, "2024-01-02", null],
      [4, "2024-01-02", null],
      [5, null, null],
      [6, null, null],
      [7, "2024-01-03", 70],
      [8, "2024-01-03", 80],
    ]);
    expect(rows[0]?.ts).toBe("2024-01-03 10:00");
  });

  it("time travels by version and timestamp, with the txn map of that version", async () => {
    const v1 = await readDeltaSnapshot(root, { version: 1 }, engine);
    expect(v1.checkpointVersion).toBeUndefined();
    expect(v1.txns).toEqual({ pipeA: { version: 2, lastUpdated: 5 }, pipeB: { version: 7, lastUpdated: 5 } });
    expect(v1.metadata.schema.fields.map((f) => f.name)).toEqual(["id", "ts", "day"]);
    await createDeltaView(engine, "hand_v1", v1);
    expect(await engine.count("hand_v1")).toBe(4);
    expect((await readDeltaSnapshot(root, { version: 0 }, engine)).txns).toEqual({
      pipeA: { version: 1, lastUpdated: 5 },
    });
    expect((await readDeltaSnapshot(root, { timestamp: new Date(2500) }, engine)).version).toBe(1);
    expect((await readDeltaSnapshot(root, { timestamp: "1970-01-01T00:00:03Z" }, engine)).version).toBe(2);
  });

  it("a version that does not exist is an error listing the available ones", async () => {
    const err = await readDeltaSnapshot(root, { version: 7 }, engine).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).component).toBe("delta");
    expect((err as Error).message).toContain("version 7 of the Delta table");
    expect((err as Error).message).toContain("does not exist; available versions: 0..3");
  });

  it("cleaned-up commits: versions before the checkpoint cannot be rebuilt; later ones can", async () => {
    const copy = join(dir, "cleaned");
    cpSync(root, copy, { recursive: true });
    unlinkSync(join(copy, "_delta_log", name(0)));
    unlinkSync(join(copy, "_delta_log", name(1)));
    const err = await readDeltaSnapshot(copy, { version: 1 }, engine).catch((e: unknown) => e);
    expect((err as Error).message).toContain("cannot be rebuilt");
    expect((err as Error).message).toContain("available versions: 2..3");
    const v2 = await readDeltaSnapshot(copy, { version: 2 }, engine);
    expect(v2.files.length).toBe(2);
    expect(v2.commitInfo?.timestamp).toBe(3000);
  });

  it("a gap in the commits is an error, not a silent older version", async () => {
    const copy = join(dir, "gap");
    cpSync(root, copy, { recursive: true });
    rmSync(join(copy, "_delta_log", "00000000000000000002.checkpoint.parquet"));
    unlinkSync(join(copy, "_delta_log", name(2)));
    const err = await readDeltaSnapshot(copy, {}, engine).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/version 3 .* cannot be rebuilt.*available versions: 0\.\.1/);
  });

  it("_last_checkpoint naming a checkpoint that is gone falls back to the listing", async () => {
    const copy = join(dir, "stale");
    cpSync(root, copy, { recursive: true });
    writeFileSync(join(copy, "_delta_log", "_last_checkpoint"), '{"version":9,"size":7}');
    expect((await readDeltaSnapshot(copy, {}, engine)).files.length).toBe(3);
  });

  it("a snapshot without files is an empty relation with the schema's columns", async () => {
    const copy = join(dir, "emptied");
    cpSync(root, copy, { recursive: true });
    commit(copy, 4, [
      info(5000),
      remove("day=2024-01-02/b.parquet"),
      remove("day=2024-01-03/d.parquet"),
      remove("day=__HIVE_DEFAULT_PARTITION__/c.parquet"),
    ]);
    const snapshot = await readDeltaSnapshot(copy, {}, engine);
    expect(snapshot.files).toEqual([]);
    await createDeltaView(engine, "hand_empty", snapshot);
    expect(await engine.count("hand_empty")).toBe(0);
    expect((await engine.columns("hand_empty")).map((c) => c.name)).toEqual(["id", "ts", "day", "extra"]);
  });

  it("column mapping is refused before any data file is read", async () => {
    const copy = join(dir, "mapped");
    cpSync(root, copy, { recursive: true });
    commit(copy, 4, [info(5000), meta(schemaV3, { "delta.columnMapping.mode": "name" })]);
    const err = await readDeltaSnapshot(copy, {}, engine).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as Error).message).toContain("column mapping (delta.columnMapping.mode = name)");
    expect((err as Error).message).toContain("sluice reads reader version 1");
  });

  it("a folder without _delta_log is not a Delta table", async () => {
    const err = await readDeltaSnapshot(dir, {}, engine).catch((e: unknown) => e);
    expect((err as Error).message).toContain("is not a Delta Lake table");
  });
});
