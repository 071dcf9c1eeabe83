import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ContractSpec, contractSpec, fileSourceSpec } from "../src/config/spec.js";
import { Engine } from "../src/engine/engine.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { FileSource } from "../src/sources/file/file-source.js";
import { projectDir, runCli } from "./support/cli.js";
import { testRunContext } from "./support/run-context.js";

// A UTF-8 byte order mark (EF BB BF) at the start of a JSONL file, as Windows tools write it, is not
// part of the first record: every read path (fast, careful, lazy view) must skip it.

const BOM = "\uFEFF";
const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

/** Extracts `text` (written as events.jsonl) with the file source; returns the rows and unparseable lines. */
async function extract(text: string, contract?: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bom-"));
  writeFileSync(join(dir, "events.jsonl"), text);
  const engine = await Engine.open();
  engines.push(engine);
  const ctx = testRunContext(engine, {
    configDir: dir,
    dataDir: join(dir, "data"),
    scratchDir: join(dir, "data", ".tmp", "run1"),
    contract: contract ? (contractSpec.parse(contract) as ContractSpec) : undefined,
  });
  const batch = await new FileSource(fileSourceSpec.parse({ type: "file", path: "events.jsonl" })).extract(ctx);
  const lazy = batch.materialize ? await engine.all(`SELECT * FROM ${batch.relation}`) : undefined;
  const loaded = batch.materialize ? { ...batch, ...(await batch.materialize()) } : batch;
  const rows = await engine.all(`SELECT * FROM ${loaded.relation} ORDER BY _source_pos`);
  const bad = loaded.unparseable
    ? await engine.all<{ _source_pos: string }>(`SELECT * FROM ${loaded.unparseable.relation}`)
    : [];
  return { rows, lazy, bad, count: loaded.rows };
}

const LINES = ['{"id":1,"name":"a"}', '{"id":2,"name":"b"}', '{"id":3,"name":"c"}'];

describe("file source: JSONL starting with a UTF-8 BOM", () => {
  it("fast path: reads line 1 as the first record", async () => {
    const r = await extract(`${BOM}${LINES.join("\n")}\n`);
    expect(r.bad).toEqual([]);
    expect(r.count).toBe(3);
    expect(r.rows.map((x) => [x.id, x.name, x._source_pos])).toEqual([
      [1n, "a", "events.jsonl:1"],
      [2n, "b", "events.jsonl:2"],
      [3n, "c", "events.jsonl:3"],
    ]);
  });

  it("careful path: only the malformed line is unparseable, line 1 is a record", async () => {
    const r = await extract(`${BOM}${LINES[0]}\n{"id":oops\n${LINES[2]}\n`);
    expect(r.bad.map((b) => b._source_pos)).toEqual(["events.jsonl:2"]);
    expect(r.rows.map((x) => [x.id, x._source_pos])).toEqual([
      [1n, "events.jsonl:1"],
      [3n, "events.jsonl:3"],
    ]);
  });

  it("lazy view under a contract: the view and the loaded batch both hold line 1", async () => {
    const contract = { columns: { id: { type: "integer" }, name: { type: "string" } } };
    const r = await extract(`${BOM}${LINES.join("\n")}\n`, contract);
    expect(r.lazy).toEqual([
      { id: "1", name: "a" },
      { id: "2", name: "b" },
      { id: "3", name: "c" },
    ]);
    expect(r.bad).toEqual([]);
    expect(r.rows.map((x) => x.id)).toEqual(["1", "2", "3"]);
  });

  it("sluice run: a strict contract passes, nothing is quarantined, no copy is left behind", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
contracts:
  ev:
    columns:
      id: { type: integer, required: true }
      name: { type: string }
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    contract: ev
    validation: strict
    sinks:
      - { type: parquet, path: raw/events }
`);
    writeFileSync(join(dir, "events.jsonl"), `${BOM}${LINES.join("\n")}\n`);
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.rows).toMatchObject({ extracted: 3, valid: 3, quarantined: 0, written: 3 });
    const tmp = join(dir, "data", ".tmp");
    expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
  });
});
