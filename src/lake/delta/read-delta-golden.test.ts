// Conformance: every table of ../shared/delta-golden (the Delta project's golden tables, read where they
// are, never copied) reads with the rows, schema, partition values and time travel its expected.json gives;
// the must-reject tables are refused with the version or feature named. Skipped, with the path named,
// when the folder is absent (a user's fresh clone).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import { createDeltaView } from "./delta-scan-sql.js";
import type { DeltaSnapshot } from "./delta-snapshot.js";
import { deltaTypeName } from "./delta-types.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";

const GOLDEN = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/delta-golden");
const present = existsSync(join(GOLDEN, "README.md"));
if (!present) console.warn(`delta golden tables skipped: ${GOLDEN} not found`);

/** GoldenTables.scala wrote zone-less timestamp partition values in this zone. */
const WRITER_ZONE = "America/Los_Angeles";

type Row = Record<string, unknown>;
interface Expected {
  version: number;
  rows: number | null;
  columns: string[];
  column_types: Record<string, string>;
  partition_columns: string[];
  files: number;
  sample: {
    complete?: boolean;
    rows?: Row[];
    row_counts?: { row: Row; count: number }[];
    absent_rows?: Row[];
    aggregates?: Record<string, Partial<Record<"min" | "max" | "sum" | "distinct" | "nulls", number>>>;
  };
  at_versions: Record<string, number>;
  schema_at_versions?: Record<string, { columns: string[]; partition_columns: string[] }>;
  must_reject: boolean;
  protocol?: { minReaderVersion: number; readerFeatures?: string[] };
}

const tables = present ? readdirSync(GOLDEN).filter((name) => existsSync(join(GOLDEN, name, "expected.json"))) : [];

describe.skipIf(!present)(`Delta golden tables (${GOLDEN})`, () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open({ threads: 1 });
  });
  afterAll(() => engine?.close());

  it("finds the twelve tables", () => {
    expect(tables.length).toBe(12);
  });

  /** The view's rows with every value in expected.json's notation (decimals exact, binary hex, ...). */
  async function readRows(snapshot: DeltaSnapshot, view: string): Promise<Row[]> {
    const cols = snapshot.metadata.schema.fields.map((f) => {
      const c = ident(f.name);
      const type = deltaTypeName(f.type);
      if (type.startsWith("decimal") || type === "date") return `${c}::VARCHAR AS ${c}`;
      if (type === "binary") return `lower(hex(${c})) AS ${c}`;
      if (type === "timestamp") return `strftime(${c} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS ${c}`;
      return c;
    });
    const rows = await engine.all<{ j: string }>(
      `SELECT to_json(t) AS j FROM (SELECT ${cols.join(", ")} FROM ${view}) t`,
    );
    return rows.map((r) => JSON.parse(r.j) as Row);
  }

  /** An expected row in the read's notation: zone-less timestamp partition values become UTC instants. */
  async function normalize(row: Row, snapshot: DeltaSnapshot): Promise<Row> {
    const out: Row = { ...row };
    for (const f of snapshot.metadata.schema.fields) {
      const v = out[f.name];
      if (f.type === "timestamp" && typeof v === "string" && !v.endsWith("Z")) {
        const r = await engine.one<{ t: string }>(
          `SELECT strftime(timezone(${literal(WRITER_ZONE)}, TIMESTAMP ${literal(v)}) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS t`,
        );
        out[f.name] = r?.t;
      }
    }
    return out;
  }

  const matches = (row: Row, partial: Row) =>
    Object.entries(partial).every(([k, v]) => canonical(row[k]) === canonical(v));

  for (const name of tables) {
    const expected = JSON.parse(readFileSync(join(GOLDEN, name, "expected.json"), "utf8")) as Expected;
    const root = join(GOLDEN, name);

    if (expected.must_reject) {
      it(`${name}: refused before reading data, naming the reader version or feature`, async () => {
        const err = await readDeltaSnapshot(root, {}, engine).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SluiceError);
        const e = err as SluiceError;
        expect(e.component).toBe("delta");
        expect(e.message).toContain("sluice reads reader version 1");
        expect(e.message).toMatch(
          new RegExp(`(reader version|minReaderVersion) ${expected.protocol!.minReaderVersion}\\b`),
        );
        for (const feature of expected.protocol!.readerFeatures ?? []) expect(e.message).toContain(feature);
        expect(e.hint).toBeTruthy();
      });
      continue;
    }

    it(`${name}: latest version ${expected.version}, ${expected.rows} rows, schema and sample`, async () => {
      const snapshot = await readDeltaSnapshot(root, {}, engine);
      expect(snapshot.version).toBe(expected.version);
      expect(snapshot.files.length).toBe(expected.files);
      expect(snapshot.protocol.minReaderVersion).toBe(1);
      expect(snapshot.metadata.partitionColumns).toEqual(expected.partition_columns);
      expect(snapshot.metadata.schema.fields.map((f) => f.name)).toEqual(expected.columns);
      const types = Object.fromEntries(snapshot.metadata.schema.fields.map((f) => [f.name, deltaTypeName(f.type)]));
      expect(types).toEqual(expected.column_types);
      for (const f of snapshot.files) expect(existsSync(f.path), f.path).toBe(true);

      const view = `golden_${name.replaceAll("-", "_")}`;
      await createDeltaView(engine, view, snapshot, { partitionTimeZone: WRITER_ZONE });
      expect((await engine.columns(view)).map((c) => c.name)).toEqual(expected.columns);
      expect(await engine.count(view)).toBe(expected.rows);

      const rows = await readRows(snapshot, view);
      const sample = expected.sample;
      let checks = 0;
      if (sample.complete) {
        const want = await Promise.all((sample.rows ?? []).map((r) => normalize(r, snapshot)));
        expect(rows.map(canonical).sort()).toEqual(want.map(canonical).sort());
        checks++;
      } else {
        for (const partial of sample.rows ?? []) {
          const want = await normalize(partial, snapshot);
          expect(
            rows.some((r) => matches(r, want)),
            JSON.stringify(partial),
          ).toBe(true);
          checks++;
        }
      }
      for (const { row, count } of sample.row_counts ?? []) {
        const want = await normalize(row, snapshot);
        expect(rows.filter((r) => matches(r, want)).length, JSON.stringify(row)).toBe(count);
        checks++;
      }
      for (const partial of sample.absent_rows ?? []) {
        const want = await normalize(partial, snapshot);
        expect(
          rows.some((r) => matches(r, want)),
          JSON.stringify(partial),
        ).toBe(false);
        checks++;
      }
      for (const [column, aggs] of Object.entries(sample.aggregates ?? {})) {
        const c = ident(column);
        const numeric = typeof aggs.min === "number" || typeof aggs.sum === "number";
        const got = await engine.one<Record<string, unknown>>(
          `SELECT ${numeric ? `min(${c})::DOUBLE AS min, max(${c})::DOUBLE AS max, sum(${c})::DOUBLE AS sum, ` : ""}count(DISTINCT ${c})::INTEGER AS distinct, count(*) FILTER (WHERE ${c} IS NULL)::INTEGER AS nulls FROM ${view}`,
        );
        for (const [agg, value] of Object.entries(aggs)) {
          expect(got?.[agg], `${column} ${agg}`).toBe(value);
          checks++;
        }
      }
      expect(checks, "expected.json gave something to check").toBeGreaterThan(0);
    });

    it(`${name}: time travel to every version of expected.json`, async () => {
      const versions = Object.entries(expected.at_versions);
      expect(versions.length).toBeGreaterThan(0);
      for (const [v, count] of versions) {
        const snapshot = await readDeltaSnapshot(root, { version: Number(v) }, engine);
        expect(snapshot.version).toBe(Number(v));
        const view = `golden_tt_${name.replaceAll("-", "_")}_${v}`;
        await createDeltaView(engine, view, snapshot, { partitionTimeZone: WRITER_ZONE });
        expect(await engine.count(view), `rows as of version ${v}`).toBe(count);
        const schema = expected.schema_at_versions?.[v];
        if (schema) {
          expect((await engine.columns(view)).map((c) => c.name)).toEqual(schema.columns);
          expect(snapshot.metadata.partitionColumns).toEqual(schema.partition_columns);
        }
        await engine.run(`DROP VIEW ${view}`);
      }
    });
  }

  it("time-travel-partition-changes-b: version 0 reads part5 values from partitionValues", async () => {
    const snapshot = await readDeltaSnapshot(join(GOLDEN, "time-travel-partition-changes-b"), { version: 0 }, engine);
    await createDeltaView(engine, "tt_b0", snapshot);
    const bad = await engine.one<{ n: number }>("SELECT count(*)::INTEGER AS n FROM tt_b0 WHERE part5 <> id % 5");
    expect(bad?.n).toBe(0);
    expect(await engine.count("tt_b0")).toBe(10);
  });

  it("basic-with-inserts-deletes-checkpoint: time travel by commit timestamp, and before the first commit", async () => {
    const root = join(GOLDEN, "basic-with-inserts-deletes-checkpoint");
    const at = (v: number) => {
      const text = readFileSync(join(root, "_delta_log", `${String(v).padStart(20, "0")}.json`), "utf8");
      const info = text.split("\n").find((l) => l.includes('"commitInfo"'));
      return JSON.parse(info!).commitInfo.timestamp as number;
    };
    for (const v of [0, 5, 10, 12, 13]) {
      expect((await readDeltaSnapshot(root, { timestamp: new Date(at(v)) }, engine)).version).toBe(v);
    }
    expect((await readDeltaSnapshot(root, { timestamp: new Date(at(6) - 1).toISOString() }, engine)).version).toBe(5);
    const err = await readDeltaSnapshot(root, { timestamp: new Date(at(0) - 1000) }, engine).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as Error).message).toMatch(/no version committed at or before .* earliest available version 0/);
  });

  it("basic-with-inserts-deletes-checkpoint: the latest version starts from the checkpoint at 10", async () => {
    const snapshot = await readDeltaSnapshot(join(GOLDEN, "basic-with-inserts-deletes-checkpoint"), {}, engine);
    expect(snapshot.checkpointVersion).toBe(10);
    expect(snapshot.commitInfo?.operation).toBe("DELETE");
  });

  it("special characters: the log path is decoded once, + stays +", async () => {
    const snapshot = await readDeltaSnapshot(join(GOLDEN, "deltatbl-special-chars-in-partition-column"), {}, engine);
    const dirs = new Set(snapshot.files.map((f) => f.path.split("/").at(-2)));
    expect([...dirs].sort()).toEqual(["c2=+ %3D%250", "c2=+ %3D%251"]);
    expect(snapshot.files.every((f) => f.relPath.startsWith("c2=+%20%253D%2525"))).toBe(true);
  });
});

/** JSON with sorted keys, so rows compare whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Row).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
