import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type ContractSpec, contractSpec, fileSourceSpec } from "../src/config/spec.js";
import { Engine } from "../src/engine/engine.js";
import { SluiceError } from "../src/errors.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { FileSource } from "../src/sources/file/file-source.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery as query } from "./support/duckdb.js";
import { testRunContext } from "./support/run-context.js";

// The file source read through the real DuckDB engine, as the runner calls it: a RunContext with an
// engine, the config directory and (or not) a contract. Assertions look at the relation the source
// leaves in the engine: its columns, values, `_source_pos`, and the `unparseable` relation.

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

/** A fresh directory holding the given files (paths relative to it). */
function project(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-file-source-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

type Row = Record<string, unknown>;

async function extract(dir: string, source: Record<string, unknown>, contract?: Record<string, unknown>) {
  const engine = await Engine.open();
  engines.push(engine);
  const logs: string[] = [];
  const ctx = testRunContext(engine, {
    configDir: dir,
    dataDir: join(dir, "data"),
    contract: contract ? (contractSpec.parse(contract) as ContractSpec) : undefined,
    log: pino({ level: "debug" }, { write: (line: string) => logs.push(JSON.parse(line).msg) }),
  });
  const extracted = await new FileSource(fileSourceSpec.parse({ type: "file", ...source })).extract(ctx);
  const all = (sql: string) => engine.all<Row>(sql);
  // A lazy batch (a view straight over the files) holds what loading it gives, positions aside.
  let result = extracted;
  if (extracted.materialize) {
    const lazy = await all(`SELECT * FROM ${extracted.relation}`).catch((err: unknown) => err as Error);
    const loaded = await extracted.materialize();
    if (!(lazy instanceof Error)) {
      expect(lazy).toEqual(await all(`SELECT * EXCLUDE (_source_pos) FROM ${loaded.relation}`));
      expect(loaded.rows).toBe(extracted.rows);
    }
    result = { ...extracted, ...loaded };
  }
  return {
    result,
    logs,
    rows: () => all(`SELECT * FROM ${result.relation}`),
    columns: () => engine.columns(result.relation),
    unparseable: () =>
      result.unparseable
        ? all(`SELECT * FROM ${result.unparseable.relation} ORDER BY _source_pos`)
        : Promise.resolve([]),
    readPath: () => (logs.some((l) => l.includes("careful path")) ? "careful" : "fast"),
  };
}

const contract3 = {
  columns: { id: { type: "integer" }, name: { type: "string" }, score: { type: "number" } },
  extra_columns: "reject",
};

describe("file source: JSONL", () => {
  it("reads records with detected types, in file order, with line numbers that skip blank lines", async () => {
    const dir = project({
      "events.jsonl": [
        '{"id":1,"name":"ada","score":0.5,"ok":true,"tags":{"k":"v"}}',
        "",
        '{"id":2,"name":"bob","score":1.25,"ok":false,"tags":{"k":"w"}}',
        "   \t",
        '{"id":3,"name":"cy","score":null,"ok":true,"tags":null}\r',
        '{"id":4,"name":"dee","score":2,"ok":true,"tags":{"k":"x"}}',
        "",
        "",
      ].join("\n"),
    });
    const r = await extract(dir, { path: "events.jsonl" });
    expect(r.result).toMatchObject({ rows: 4, extent: "replace", description: "events.jsonl" });
    expect(r.result.unparseable).toBeUndefined();
    const cols = await r.columns();
    expect(cols.map((c) => [c.name, c.type])).toEqual([
      ["id", "BIGINT"],
      ["name", "VARCHAR"],
      ["score", "DOUBLE"],
      ["ok", "BOOLEAN"],
      ["tags", "STRUCT(k VARCHAR)"],
      ["_source_pos", "VARCHAR"],
    ]);
    const rows = await r.rows();
    expect(rows.map((x) => [x.id, x.name, x.score, x.ok, x._source_pos])).toEqual([
      [1n, "ada", 0.5, true, "events.jsonl:1"],
      [2n, "bob", 1.25, false, "events.jsonl:3"],
      [3n, "cy", null, true, "events.jsonl:5"],
      [4n, "dee", 2, true, "events.jsonl:6"],
    ]);
    expect(r.readPath()).toBe("fast");
  });

  it("with a contract delivers every column as VARCHAR: numbers as their text, nested values as JSON", async () => {
    const dir = project({
      "e.ndjson": '{"id":7,"name":"x","score":0.25,"meta":{"a":[1,2]},"flag":true}\n{"id":"oops","name":null}\n',
    });
    const r = await extract(dir, { path: "e.ndjson" }, contract3);
    const cols = await r.columns();
    expect(cols.every((c) => c.type === "VARCHAR")).toBe(true);
    // Source order; the extra keys stay (the contract stage rejects or drops them).
    expect(cols.map((c) => c.name)).toEqual(["id", "name", "score", "meta", "flag", "_source_pos"]);
    expect(await r.rows()).toEqual([
      { id: "7", name: "x", score: "0.25", meta: '{"a":[1,2]}', flag: "true", _source_pos: "e.ndjson:1" },
      { id: "oops", name: null, score: null, meta: null, flag: null, _source_pos: "e.ndjson:2" },
    ]);
  });

  it("finds a key that first appears after DuckDB's sample, and a late odd value does not fail the read", async () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ id: i + 1, v: i, d: { k: i } }));
    lines.push(JSON.stringify({ id: 30_001, v: "not a number", d: [1, 2], late: "here" }));
    const dir = project({ "big.jsonl": `${lines.join("\n")}\n` });

    const typed = await extract(dir, { path: "big.jsonl" });
    expect(typed.result.rows).toBe(30_001);
    const cols = Object.fromEntries((await typed.columns()).map((c) => [c.name, c.type]));
    expect(Object.keys(cols)).toEqual(["id", "v", "d", "late", "_source_pos"]);
    expect(cols.id).toBe("BIGINT");
    const [last] = await typed.rows().then((rs) => rs.slice(-1));
    expect(last).toMatchObject({ id: 30_001n, late: "here", _source_pos: "big.jsonl:30001" });
    expect(String(last!.v)).toContain("not a number");

    const withContract = await extract(dir, { path: "big.jsonl" }, { columns: { id: { type: "integer" } } });
    const rows = await withContract.rows();
    expect(rows).toHaveLength(30_001);
    expect(rows[30_000]).toMatchObject({ id: "30001", v: "not a number", d: "[1,2]", late: "here" });
  });

  it("puts malformed lines in `unparseable` with their line numbers and keeps every good record", async () => {
    const dir = project({
      "bad.jsonl": [
        '{"id":1,"name":"a"}',
        '{"id":2,"name":"b"', // truncated
        "",
        '{"id":3,"name":"c"}',
        "[1,2]",
        '"just a string"',
        '{"id":4,"name":"d"} {"id":5}',
        '{"id":6,"name":"f"}',
      ].join("\n"),
    });
    for (const contract of [undefined, contract3]) {
      const r = await extract(dir, { path: "bad.jsonl" }, contract);
      expect(r.result.rows).toBe(3);
      expect(r.result.unparseable?.rows).toBe(4);
      const rows = await r.rows();
      expect(rows.map((x) => [String(x.id), x._source_pos])).toEqual([
        ["1", "bad.jsonl:1"],
        ["3", "bad.jsonl:4"],
        ["6", "bad.jsonl:8"],
      ]);
      expect(await r.unparseable()).toEqual([
        { _source_pos: "bad.jsonl:2", _raw: '{"id":2,"name":"b"', _error: "malformed JSON" },
        { _source_pos: "bad.jsonl:5", _raw: "[1,2]", _error: "expected a JSON object, found an array" },
        { _source_pos: "bad.jsonl:6", _raw: '"just a string"', _error: "expected a JSON object, found a string" },
        { _source_pos: "bad.jsonl:7", _raw: '{"id":4,"name":"d"} {"id":5}', _error: "malformed JSON" },
      ]);
      expect(r.readPath()).toBe("careful");
    }
  });

  it("an object split over two lines and a line that is not UTF-8 are unparseable too", async () => {
    const dir = project({
      "odd.jsonl": Buffer.concat([
        Buffer.from('{"id":1}\n{"id":2,\n"name":"x"}\n{"id":3,"name":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}\n{"id":4}'),
      ]),
    });
    const r = await extract(dir, { path: "odd.jsonl" }, contract3);
    expect((await r.rows()).map((x) => [x.id, x._source_pos])).toEqual([
      ["1", "odd.jsonl:1"],
      ["4", "odd.jsonl:5"],
    ]);
    const bad = await r.unparseable();
    expect(bad.map((b) => [b._source_pos, b._error])).toEqual([
      ["odd.jsonl:2", "malformed JSON"],
      ["odd.jsonl:3", "malformed JSON"],
      ["odd.jsonl:4", "malformed JSON"],
    ]);
    expect(bad[0]!._raw).toBe('{"id":2,');
    expect(bad[2]!._raw).toContain('{"id":3,"name":"');
  });

  it("reads a glob of several files as one batch, in path order, positions per file", async () => {
    const dir = project({
      "in/b.jsonl": '{"id":3}\n\n{"id":4,"extra":"x"}\n',
      "in/a.jsonl": '{"id":1}\n{"id":2}\n',
      "in/c.jsonl": "",
      "in/notes.txt": "not matched",
    });
    const r = await extract(dir, { path: "in/*.jsonl" });
    expect(r.result.description).toBe("3 files matching in/*.jsonl");
    expect((await r.rows()).map((x) => [x.id, x.extra, x._source_pos])).toEqual([
      [1n, null, "in/a.jsonl:1"],
      [2n, null, "in/a.jsonl:2"],
      [3n, null, "in/b.jsonl:1"],
      [4n, "x", "in/b.jsonl:3"],
    ]);
  });

  it("positions stay right when a glob mixes a malformed file with good ones", async () => {
    const dir = project({ "a.jsonl": '{"id":1}\n{"id":2}\n', "b.jsonl": '{"id":3}\n{oops\n\n{"id":4}\n' });
    const r = await extract(dir, { path: ["a.jsonl", "b.jsonl"] });
    expect((await r.rows()).map((x) => [x.id, x._source_pos])).toEqual([
      [1n, "a.jsonl:1"],
      [2n, "a.jsonl:2"],
      [3n, "b.jsonl:1"],
      [4n, "b.jsonl:4"],
    ]);
    expect(await r.unparseable()).toEqual([{ _source_pos: "b.jsonl:2", _raw: "{oops", _error: "malformed JSON" }]);
  });

  it("an empty file: the contract's columns with a contract, only _source_pos without", async () => {
    const dir = project({ "empty.jsonl": "", "blank.jsonl": "\n\n" });
    const withContract = await extract(dir, { path: "empty.jsonl" }, contract3);
    expect(withContract.result.rows).toBe(0);
    expect((await withContract.columns()).map((c) => `${c.name} ${c.type}`)).toEqual([
      "id VARCHAR",
      "name VARCHAR",
      "score VARCHAR",
      "_source_pos VARCHAR",
    ]);
    // No contract and no records: there is no schema to invent, so the relation has no data columns.
    const bare = await extract(dir, { path: "blank.jsonl" });
    expect(bare.result.rows).toBe(0);
    expect((await bare.columns()).map((c) => c.name)).toEqual(["_source_pos"]);
  });
});

describe("file source: CSV", () => {
  it("reads a custom delimiter, quoted fields with delimiters, quotes and newlines; line 2 is the first row", async () => {
    const lines = [
      "id;merchant;note;amount",
      '1;"Cafe; Bar";"said ""hi""";12.50',
      '2;Shop;"two',
      'lines";3',
      "",
      "3;Plain;;7",
      "4;Last;x;1",
    ];
    const dir = project({
      "tx.csv": lines.join("\n"),
      "tx-crlf.csv": lines.join("\r\n"),
      // Mixed line ends make DuckDB's sniffer give up: the careful path reads the same records.
      "tx-mixed.csv": lines.map((l, i) => (i === 5 ? `${l}\r` : l)).join("\n"),
    });
    for (const file of ["tx.csv", "tx-crlf.csv", "tx-mixed.csv"]) {
      const r = await extract(dir, { path: file, delimiter: ";" });
      expect(r.result.rows).toBe(4);
      expect((await r.columns()).map((c) => c.name)).toEqual(["id", "merchant", "note", "amount", "_source_pos"]);
      const rows = await r.rows();
      const nl = file === "tx-crlf.csv" ? "\r\n" : "\n";
      expect(rows.map((x) => [x.id, x.merchant, x.note, x.amount, x._source_pos])).toEqual([
        [1n, "Cafe; Bar", 'said "hi"', 12.5, `${file}:2`],
        [2n, "Shop", `two${nl}lines`, 3, `${file}:3`],
        [3n, "Plain", null, 7, `${file}:6`],
        [4n, "Last", "x", 1, `${file}:7`],
      ]);
      expect(r.readPath()).toBe(file === "tx-mixed.csv" ? "careful" : "fast");
    }
  });

  it("with a contract every column is VARCHAR and contract columns the file lacks are NULL", async () => {
    const dir = project({ "p.csv": "id,name,other\n1,ann,x\n2,,y\n" });
    const r = await extract(dir, { path: "p.csv" }, contract3);
    expect((await r.columns()).map((c) => `${c.name} ${c.type}`)).toEqual([
      "id VARCHAR",
      "name VARCHAR",
      "other VARCHAR",
      "score VARCHAR",
      "_source_pos VARCHAR",
    ]);
    expect(await r.rows()).toEqual([
      { id: "1", name: "ann", other: "x", score: null, _source_pos: "p.csv:2" },
      { id: "2", name: null, other: "y", score: null, _source_pos: "p.csv:3" },
    ]);
  });

  it("rows with the wrong number of fields or a broken quote go to `unparseable`; the good rows all come through", async () => {
    const dir = project({
      "bad.csv": [
        "id,name,score",
        "1,a,0.5",
        "2,b", // short
        "3,c,0.7,extra", // long
        '4,"d\nstill d",0.8', // good, two lines
        '5,"e"x,0.9', // text after a closing quote
        "6,f,1.0",
        '7,"never closed,1.1',
        "8,h,1.2",
      ].join("\n"),
    });
    for (const contract of [undefined, contract3]) {
      const r = await extract(dir, { path: "bad.csv" }, contract);
      const rows = await r.rows();
      expect(rows.map((x) => [String(x.id), x._source_pos])).toEqual([
        ["1", "bad.csv:2"],
        ["4", "bad.csv:5"],
        ["6", "bad.csv:8"],
        ["8", "bad.csv:10"],
      ]);
      expect(rows[1]!.name).toBe("d\nstill d");
      expect(await r.unparseable()).toEqual([
        { _source_pos: "bad.csv:3", _raw: "2,b", _error: "expected 3 fields, found 2" },
        { _source_pos: "bad.csv:4", _raw: "3,c,0.7,extra", _error: "expected 3 fields, found 4" },
        { _source_pos: "bad.csv:7", _raw: '5,"e"x,0.9', _error: "unexpected character after a closing quote" },
        { _source_pos: "bad.csv:9", _raw: '7,"never closed,1.1', _error: "quoted field is never closed" },
      ]);
      expect(r.result.rows + (r.result.unparseable?.rows ?? 0)).toBe(8);
    }
  });

  it("a record DuckDB cannot decode (not UTF-8) is unparseable, with DuckDB's reason", async () => {
    const dir = project({
      "enc.csv": Buffer.concat([
        Buffer.from("id,name\n1,ok\n2,"),
        Buffer.from([0xff, 0xfe]),
        Buffer.from("\n3,fine\n"),
      ]),
    });
    const r = await extract(dir, { path: "enc.csv" }, contract3);
    expect((await r.rows()).map((x) => [x.id, x._source_pos])).toEqual([
      ["1", "enc.csv:2"],
      ["3", "enc.csv:4"],
    ]);
    const [bad] = await r.unparseable();
    expect(bad).toMatchObject({ _source_pos: "enc.csv:3" });
    expect(String(bad!._error)).toMatch(/unicode|utf-8/i);
  });

  it("reads files without a header (columns named as DuckDB names them)", async () => {
    const dir = project({ "nh.csv": "1,x\n2,y\n", "nh-bad.csv": "1,x\n2\n3,z\n" });
    const good = await extract(dir, { path: "nh.csv", header: false });
    expect(await good.rows()).toEqual([
      { column0: 1n, column1: "x", _source_pos: "nh.csv:1" },
      { column0: 2n, column1: "y", _source_pos: "nh.csv:2" },
    ]);
    const bad = await extract(dir, { path: "nh-bad.csv", header: false });
    expect((await bad.rows()).map((x) => [x.column0, x._source_pos])).toEqual([
      [1n, "nh-bad.csv:1"],
      [3n, "nh-bad.csv:3"],
    ]);
    expect((await bad.unparseable()).map((x) => x._source_pos)).toEqual(["nh-bad.csv:2"]);
  });

  it("a header-only file gives its columns and no rows; an empty file invents none", async () => {
    const dir = project({ "h.csv": "id,name\n", "zero.csv": "" });
    const r = await extract(dir, { path: "h.csv" }, contract3);
    expect(r.result.rows).toBe(0);
    expect((await r.columns()).map((c) => c.name)).toEqual(["id", "name", "score", "_source_pos"]);
    const zero = await extract(dir, { path: "zero.csv" });
    expect(zero.result.rows).toBe(0);
    expect((await zero.columns()).map((c) => c.name)).toEqual(["_source_pos"]);
    const zeroWithContract = await extract(dir, { path: "zero.csv" }, contract3);
    expect((await zeroWithContract.columns()).map((c) => c.name)).toEqual(["id", "name", "score", "_source_pos"]);
  });
});

describe("file source: Parquet", () => {
  it("keeps the file's types, combines files by name, positions are rows", async () => {
    const dir = project({});
    const db = await DuckDBInstance.create(":memory:");
    const con = await db.connect();
    await con.run(
      `COPY (SELECT i AS id, 'n' || i AS name, TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_hours(i) AS ts FROM range(3) t(i))
         TO '${join(dir, "p1.parquet")}' (FORMAT parquet)`,
    );
    await con.run(`COPY (SELECT 10 AS id, true AS extra) TO '${join(dir, "p2.parquet")}' (FORMAT parquet)`);
    con.closeSync();
    db.closeSync();
    const r = await extract(dir, { path: "*.parquet" }, contract3);
    const cols = Object.fromEntries((await r.columns()).map((c) => [c.name, c.type]));
    expect(cols).toMatchObject({ id: "BIGINT", name: "VARCHAR", ts: "TIMESTAMP WITH TIME ZONE", extra: "BOOLEAN" });
    expect((await r.rows()).map((x) => [x.id, x._source_pos])).toEqual([
      [0n, "p1.parquet:row 1"],
      [1n, "p1.parquet:row 2"],
      [2n, "p1.parquet:row 3"],
      [10n, "p2.parquet:row 1"],
    ]);
  });
});

describe("file source: paths", () => {
  it("a glob matching nothing is an error naming the pattern and the directory", async () => {
    const dir = project({ "x.jsonl": "" });
    const err = await extract(dir, { path: "events/*.jsonl" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as Error).message).toContain("events/*.jsonl");
    expect((err as Error).message).toContain(dir);
  });

  it("a missing file and an unknown extension are clear errors", async () => {
    const dir = project({ "data.txt": "a" });
    await expect(extract(dir, { path: "nope.jsonl" })).rejects.toThrow(/nope\.jsonl.*does not exist/);
    const err = (await extract(dir, { path: "data.txt" }).catch((e: unknown) => e)) as SluiceError;
    expect(err.message).toContain("data.txt");
    expect(err.hint).toContain("format");
    expect(err.exitCode).toBe(2);
    const asCsv = await extract(dir, { path: "data.txt", format: "csv", header: false });
    expect(asCsv.result.rows).toBe(1);
  });

  it("check() lists the matching files with their sizes", async () => {
    const dir = project({ "in/a.jsonl": '{"id":1}\n', "in/b.jsonl": '{"id":2}\n{"id":3}\n' });
    const info = await new FileSource(fileSourceSpec.parse({ type: "file", path: "in/*.jsonl" })).check({
      configDir: dir,
    });
    expect(info).toBe("2 files matching in/*.jsonl (jsonl, 27 B): in/a.jsonl 9 B, in/b.jsonl 18 B");
    await expect(
      new FileSource(fileSourceSpec.parse({ type: "file", path: "none/*.csv" })).check({ configDir: dir }),
    ).rejects.toThrow(/no files match `none\/\*\.csv`/);
  });
});

// ---------------------------------------------------------------- through the CLI

const cliConfig = (source: string, validation: string, contract = true) => `version: 1
data_dir: ./data
contracts:
  event:
    columns:
      id: { type: integer, required: true }
      name: { type: string, required: true }
      score: { type: number, min: 0, max: 1 }
    extra_columns: reject
pipelines:
  events:
    source: ${source}
${contract ? "    contract: event\n" : ""}    validation: ${validation}
    sinks:
      - { type: parquet, path: raw/events, layout: snapshot }
`;

describe("sluice run with a file source", () => {
  it("JSONL -> contract -> Parquet: good rows typed and written, malformed and invalid lines quarantined by line", async () => {
    const dir = projectDir(cliConfig("{ type: file, path: in/events.jsonl }", "quarantine"));
    mkdirSync(join(dir, "in"));
    writeFileSync(
      join(dir, "in", "events.jsonl"),
      [
        '{"id":1,"name":"ann","score":0.5}',
        "",
        '{"id":2,"name":"bob","score":7}', // breaks max
        '{"id":3,"name":"cy"', // malformed
        '{"id":4,"name":"dee","score":0.25}',
      ].join("\n"),
    );
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.source).toBe("in/events.jsonl");
    expect(record.rows).toMatchObject({ extracted: 4, valid: 2, quarantined: 2, written: 2 });
    const latest = join(dir, "data", "raw", "events", "events_latest.parquet");
    expect(await query(`SELECT id, name, score FROM '${latest}' ORDER BY id`)).toEqual([
      { id: 1n, name: "ann", score: 0.5 },
      { id: 4n, name: "dee", score: 0.25 },
    ]);
    const quarantine = join(dir, "data", record.quarantine_path!);
    expect(await query(`SELECT _source_pos, _raw FROM '${quarantine}' ORDER BY _source_pos`)).toEqual([
      { _source_pos: "in/events.jsonl:3", _raw: null },
      { _source_pos: "in/events.jsonl:4", _raw: '{"id":3,"name":"cy"' },
    ]);
  });

  it("with validation off a malformed line fails the run (exit 1) naming file:line", async () => {
    const dir = projectDir(cliConfig("{ type: file, path: events.jsonl }", '"off"'));
    writeFileSync(join(dir, "events.jsonl"), '{"id":1,"name":"a"}\n{"id":2,\n');
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code).toBe(1);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.status).toBe("failed");
    expect(record.error?.message).toContain("events.jsonl:2");
    expect(record.error?.message).toContain("malformed JSON");
    expect(existsSync(join(dir, "data", "raw", "events"))).toBe(false);
  });

  it("CSV with a custom delimiter: quoted fields kept whole, the short row quarantined with its line", async () => {
    const dir = projectDir(cliConfig("{ type: file, path: tx.csv, delimiter: ';' }", "quarantine"));
    writeFileSync(join(dir, "tx.csv"), 'id;name;score\n1;"Smith; J.";0.5\n2;"two\nlines";0.75\n3;short\n4;d;1\n');
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.rows).toMatchObject({ extracted: 4, valid: 3, quarantined: 1 });
    const latest = join(dir, "data", "raw", "events", "events_latest.parquet");
    expect(await query(`SELECT id, name, score FROM '${latest}' ORDER BY id`)).toEqual([
      { id: 1n, name: "Smith; J.", score: 0.5 },
      { id: 2n, name: "two\nlines", score: 0.75 },
      { id: 4n, name: "d", score: 1 },
    ]);
    const quarantine = join(dir, "data", record.quarantine_path!);
    expect(await query(`SELECT _source_pos, _raw FROM '${quarantine}'`)).toEqual([
      { _source_pos: "tx.csv:5", _raw: "3;short" },
    ]);
  });

  it("an empty JSONL file with a contract writes an empty Parquet file with the contract's columns", async () => {
    const dir = projectDir(cliConfig("{ type: file, path: empty.jsonl }", "strict"));
    writeFileSync(join(dir, "empty.jsonl"), "");
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const latest = join(dir, "data", "raw", "events", "events_latest.parquet");
    expect(await query(`SELECT count(*) AS n FROM '${latest}'`)).toEqual([{ n: 0n }]);
    const cols = await query(`DESCRIBE SELECT * FROM '${latest}'`);
    expect(cols.slice(0, 3).map((c) => [c.column_name, c.column_type])).toEqual([
      ["id", "BIGINT"],
      ["name", "VARCHAR"],
      ["score", "DOUBLE"],
    ]);
  });

  it("a glob that matches nothing fails the run with the pattern in the message", async () => {
    const dir = projectDir(cliConfig("{ type: file, path: 'incoming/*.jsonl' }", "strict"));
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code).toBe(1);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.error?.message).toContain("no files match `incoming/*.jsonl`");
  });
});
