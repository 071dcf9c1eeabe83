import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery as query } from "./support/duckdb.js";

// One JSONL file with every kind of defect, one per line (line numbers in comments).
const LINES = [
  '{"id":"e1","kind":"click","n":5,"score":0.5,"ok":true,"at":"2025-01-01T00:00:00Z","day":"2025-01-01","doc":{"a":1},"name":"ann"}', // 1 ok
  '{"id":"e2","kind":"view","n":0,"score":1,"ok":false,"at":"2025-01-02T10:00:00+02:00","day":"2025-01-02","doc":[1,2],"name":"bob"}', // 2 ok
  '{"id":"e3","kind":"tap","at":"2025-01-01T00:00:00Z"}', // 3 enum
  '{"id":"e4","kind":"click","n":"five","at":"2025-01-01T00:00:00Z"}', // 4 type
  '{"id":"e5","kind":"click","n":1.5,"at":"2025-01-01T00:00:00Z"}', // 5 type (fraction in an integer)
  '{"id":"e6","kind":"click","n":101,"at":"2025-01-01T00:00:00Z"}', // 6 max
  '{"id":"e7","kind":"click","score":-0.1,"at":"2025-01-01T00:00:00Z"}', // 7 min
  '{"id":"e8","kind":"click","ok":"maybe","at":"2025-01-01T00:00:00Z"}', // 8 type (boolean)
  '{"id":"e9","kind":"click","at":"2099-01-01T00:00:00Z"}', // 9 not_future
  '{"id":"e10","kind":"click","at":"not a time"}', // 10 type (timestamp)
  '{"id":"e11","at":"2025-01-01T00:00:00Z"}', // 11 required
  '{"id":"x12","kind":"click","at":"2025-01-01T00:00:00Z"}', // 12 pattern
  '{"id":"e13","kind":"click","at":"2025-01-01T00:00:00Z","name":"a"}', // 13 min_length
  '{"id":"e14","kind":"click","at":"2025-01-01T00:00:00Z","name":"abcdefg"}', // 14 max_length
  '{"id":"e15","kind":"click","at":"2025-01-01T00:00:00Z","day":"2025-13-45"}', // 15 type (date)
  '{"id":"e16","kind":"click","at":"2025-01-01T00:00:00Z","surprise":1}', // 16 extra column
  '{"id": "e17", "kind":', // 17 unparseable
  '{"id":"e18","kind":"click","at":"2025-01-01T00:00:00Z"}', // 18 unique (with 19)
  '{"id":"e18","kind":"view","at":"2025-01-01T00:00:00Z"}', // 19 unique (with 18)
  '{"id":"e20","kind":"click","at":"2025-01-03T00:00:00Z","doc":{"deep":{"x":[1,2]}}}', // 20 ok
  '{"id":"e21","kind":"tap","n":-5,"at":"2025-01-01T00:00:00Z"}', // 21 enum and min
];

const CONTRACT = `contracts:
  event:
    columns:
      id: { type: string, required: true, pattern: "^e[0-9]+$", unique: true }
      kind: { type: string, required: true, enum: [click, view] }
      n: { type: integer, min: 0, max: 100 }
      score: { type: number, min: 0, max: 1 }
      ok: { type: boolean }
      at: { type: timestamp, required: true, not_future: true }
      day: { type: date }
      doc: { type: json }
      name: { type: string, min_length: 2, max_length: 5 }
    extra_columns: reject
`;

function project(opts: { validation: string; dedup?: string; lines?: string[]; alerts?: string }): string {
  const dir = projectDir(`version: 1
data_dir: ./data
${CONTRACT}pipelines:
  events:
    source: { type: file, path: events.jsonl }
    contract: event
    validation: ${opts.validation}
    dedup: ${opts.dedup ?? "{ strategy: none }"}
    sinks:
      - { type: parquet, path: raw/events }
${opts.alerts ?? ""}`);
  writeFileSync(join(dir, "events.jsonl"), `${(opts.lines ?? LINES).join("\n")}\n`);
  return dir;
}

async function run(
  dir: string,
  ...args: string[]
): Promise<{ code: number | null; record: RunRecord; stderr: string }> {
  const r = await runCli(["run", "--json", ...args], { cwd: dir });
  return { code: r.code, record: JSON.parse(r.stdout) as RunRecord, stderr: r.stderr };
}

/** A quarantined row's broken rules as `column.rule` joined by commas, in the order they were found. */
const RULES = `array_to_string(list_transform(_failures, f -> coalesce(f."column" || '.', '') || f.rule), ',') AS rules`;

const latest = (dir: string) => join(dir, "data", "raw", "events", "events_latest.parquet");

describe("contract: quarantine mode", () => {
  it("writes valid rows typed, quarantines every failing row with all its reasons and line", async () => {
    const dir = project({ validation: "quarantine" });
    const { code, record } = await run(dir);
    expect(code).toBe(0);
    expect(record.status).toBe("succeeded");
    expect(record.rows).toMatchObject({ extracted: 21, valid: 3, quarantined: 18, written: 3 });
    expect(record.quarantine_path).toBe(`quarantine/events/${record.run_id}.parquet`);

    // The written rows: typed as the contract says, the extra column gone, lineage added.
    const out = await query<Record<string, unknown>>(`SELECT * FROM '${latest(dir)}' ORDER BY id`);
    expect(out.map((r) => r.id)).toEqual(["e1", "e2", "e20"]);
    expect(out[1]).toMatchObject({ n: 0n, score: 1, ok: false, at: new Date("2025-01-02T08:00:00Z"), doc: "[1,2]" });
    const types = await query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM '${latest(dir)}'`);
    expect(types.map((t) => `${t.column_name} ${t.column_type}`)).toEqual(
      expect.arrayContaining([
        "n BIGINT",
        "score DOUBLE",
        "ok BOOLEAN",
        "at TIMESTAMP WITH TIME ZONE",
        "day DATE",
        "_run_id VARCHAR",
      ]),
    );
    expect(types.map((t) => t.column_name)).not.toContain("surprise");
    expect(types.map((t) => t.column_name)).not.toContain("_source_pos");

    // The quarantine: original values as text, every broken rule, run id and line.
    const q = await query<{ pos: string; rules: string; n: string | null; run: string }>(
      `SELECT _source_pos AS pos, ${RULES}, n, _run_id AS run
       FROM '${join(dir, "data", record.quarantine_path!)}'`,
    );
    expect(q.map((r) => [r.pos, r.rules])).toEqual([
      ["events.jsonl:3", "kind.enum"],
      ["events.jsonl:4", "n.type"],
      ["events.jsonl:5", "n.type"],
      ["events.jsonl:6", "n.max"],
      ["events.jsonl:7", "score.min"],
      ["events.jsonl:8", "ok.type"],
      ["events.jsonl:9", "at.not_future"],
      ["events.jsonl:10", "at.type"],
      ["events.jsonl:11", "kind.required"],
      ["events.jsonl:12", "id.pattern"],
      ["events.jsonl:13", "name.min_length"],
      ["events.jsonl:14", "name.max_length"],
      ["events.jsonl:15", "day.type"],
      ["events.jsonl:16", "surprise.extra_column"],
      ["events.jsonl:17", "unparseable"],
      ["events.jsonl:18", "id.unique"],
      ["events.jsonl:19", "id.unique"],
      ["events.jsonl:21", "kind.enum,n.min"],
    ]);
    expect(q.find((r) => r.pos === "events.jsonl:4")?.n).toBe("five");
    expect(new Set(q.map((r) => r.run))).toEqual(new Set([record.run_id]));

    // Quality metrics of the written rows.
    expect(record.metrics.validation_pass_rate).toBeCloseTo(3 / 21, 10);
    expect(record.metrics.unique).toEqual({ id: 3 });
    expect(record.metrics.null_rate).toMatchObject({ id: 0, n: 1 / 3, doc: 0 });
    expect(Object.keys(record.metrics.null_rate)).not.toContain("_run_id");
  });

  it("rows in = valid + quarantined for every dedup strategy", async () => {
    const strategies = {
      none: { valid: 3, quarantined: 18, written: 3 },
      bronze_append: { valid: 3, quarantined: 18, written: 3 },
      // unique on the merge/eager key: the two e18 rows are dedup's job, not contract failures.
      merge: { valid: 5, quarantined: 16, written: 4 },
      eager: { valid: 5, quarantined: 16, written: 4 },
    };
    for (const [strategy, expected] of Object.entries(strategies)) {
      const dedup = strategy === "none" ? "{ strategy: none }" : `{ strategy: ${strategy}, key: [id], order_by: at }`;
      const { code, record } = await run(project({ validation: "quarantine", dedup }));
      expect(code, strategy).toBe(0);
      expect(record.rows, strategy).toMatchObject({ extracted: 21, ...expected });
      expect(record.rows.valid + record.rows.quarantined, strategy).toBe(record.rows.extracted);
      expect(record.rows.written + record.rows.duplicates_dropped, strategy).toBe(record.rows.valid);
    }
  });
});

describe("contract: strict mode", () => {
  it("exits 3, writes nothing but the report, shows the first failures, leaves state alone", async () => {
    const dir = project({ validation: "strict" });
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(existsSync(join(dir, "data", "raw"))).toBe(false);
    expect(existsSync(join(dir, "data", "quarantine"))).toBe(false);
    expect(existsSync(join(dir, "data", "state"))).toBe(false);
    expect(r.stdout).toContain("18 of 21 rows failed contract `event`; nothing was written");
    expect(r.stdout).toContain('events.jsonl:3: kind enum "tap" (not one of: click, view)');
    expect(r.stdout).toContain("events.jsonl:11: kind required (missing)");
    expect(r.stdout).toMatch(/\.\.\. and 9 more failures/);

    const [record] = JSON.parse((await runCli(["runs", "events", "--json"], { cwd: dir })).stdout) as RunRecord[];
    expect(record!.status).toBe("validation_failed");
    expect(record!.rows.written).toBe(0);
    const report = record!.report_path!;
    expect(report).toBe(join(dir, "data", "reports", "events", record!.run_id, "validation_errors.csv"));
    expect(r.stdout).toContain(report);
    const csv = readFileSync(report, "utf8").trim().split("\n");
    expect(csv[0]).toBe("row_key,column,rule,value,detail,source_pos");
    expect(csv).toContain("e4,n,type,five,does not cast to integer,events.jsonl:4");
    expect(csv).toContain('e21,kind,enum,tap,"not one of: click, view",events.jsonl:21');
    expect(csv).toContain("e21,n,min,-5,below the minimum 0,events.jsonl:21");
    expect(csv.filter((l) => l.endsWith(",events.jsonl:17"))).toHaveLength(1);
    expect(csv).toHaveLength(1 + 19);
  });

  it("--non-strict turns strict into quarantine for one run", async () => {
    const { code, record } = await run(project({ validation: "strict" }), "--non-strict");
    expect(code).toBe(0);
    expect(record.rows).toMatchObject({ valid: 3, quarantined: 18 });
  });
});

describe("contract: checked in the scan that writes (well-formed JSONL, dedup none)", () => {
  // Every line parses (line 17 is blank now): the file is read straight into the write, checked there,
  // and only looked at row by row when that scan comes up short. The results must not differ.
  const parsed = LINES.map((l, i) => (i === 16 ? "" : l));
  const rulesOf = (dir: string, record: RunRecord) =>
    query<{ pos: string; rules: string }>(
      `SELECT _source_pos AS pos, ${RULES}
       FROM '${join(dir, "data", record.quarantine_path!)}'`,
    );

  it("quarantines the same rows, with the same rules and lines, as the row-by-row check", async () => {
    const dir = project({ validation: "quarantine", lines: parsed });
    const { code, record, stderr } = await run(dir);
    expect(code).toBe(0);
    expect(stderr).toContain("some rows failed the contract; checking the batch row by row");
    expect(record.rows).toMatchObject({ extracted: 20, valid: 3, quarantined: 17, written: 3 });
    const q = await rulesOf(dir, record);
    expect(q.map((r) => r.pos)).not.toContain("events.jsonl:17");
    expect(q).toContainEqual({ pos: "events.jsonl:21", rules: "kind.enum,n.min" });
    expect(q).toContainEqual({ pos: "events.jsonl:18", rules: "id.unique" });
    expect(q).toHaveLength(17);
    const out = await query<{ id: string }>(`SELECT id FROM '${latest(dir)}' ORDER BY id`);
    expect(out.map((r) => r.id)).toEqual(["e1", "e2", "e20"]);
  });

  it("a clean file is written whole and typed; a repeated unique value alone still quarantines both rows", async () => {
    const good = [parsed[0]!, parsed[1]!, parsed[19]!];
    const clean = project({ validation: "quarantine", lines: good });
    const ok = await run(clean);
    expect(ok.code).toBe(0);
    expect(ok.stderr).not.toContain("row by row");
    expect(ok.record.rows).toMatchObject({ extracted: 3, valid: 3, quarantined: 0, written: 3 });
    expect(ok.record.quarantine_path).toBeUndefined();
    expect(ok.record.metrics.unique).toEqual({ id: 3 });
    expect(ok.record.metrics.null_rate).toMatchObject({ id: 0, n: 1 / 3 });
    const typed = await query<{ id: string; n: bigint | null; at: Date }>(
      `SELECT id, n, "at" FROM '${latest(clean)}' ORDER BY id`,
    );
    expect(typed[1]).toEqual({ id: "e2", n: 0n, at: new Date("2025-01-02T08:00:00Z") });
    expect(readdirSync(join(clean, "data", ".tmp"))).toEqual([]);

    const twice = project({ validation: "quarantine", lines: [...good, good[0]!] });
    const dup = await run(twice);
    expect(dup.code).toBe(0);
    expect(dup.record.rows).toMatchObject({ extracted: 4, valid: 2, quarantined: 2, written: 2 });
    expect(await rulesOf(twice, dup.record)).toEqual([
      { pos: "events.jsonl:1", rules: "id.unique" },
      { pos: "events.jsonl:4", rules: "id.unique" },
    ]);
  });

  it("strict: exits 3 and writes nothing, not even a part of the batch", async () => {
    const dir = project({ validation: "strict", lines: parsed });
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("17 of 20 rows failed contract `event`; nothing was written");
    expect(r.stdout).toContain('events.jsonl:3: kind enum "tap" (not one of: click, view)');
    expect(existsSync(join(dir, "data", "raw"))).toBe(false);
    expect(readdirSync(join(dir, "data", ".tmp"))).toEqual([]);
  });
});

describe("contract: off", () => {
  it("checks nothing, keeps the contract's shape, but fails on unparseable lines", async () => {
    const dir = project({ validation: '"off"' });
    const failed = await run(dir);
    expect(failed.code).toBe(1);
    expect(failed.record.error?.message).toContain("events.jsonl:17");
    expect(existsSync(join(dir, "data", "raw"))).toBe(false);

    writeFileSync(join(dir, "events.jsonl"), `${LINES.filter((_, i) => i !== 16).join("\n")}\n`);
    const { code, record } = await run(dir);
    expect(code).toBe(0);
    expect(record.rows).toMatchObject({ extracted: 20, valid: 20, quarantined: 0, written: 20 });
    const rows = await query<{ id: string; n: bigint | null }>(
      `SELECT id, n FROM '${latest(dir)}' WHERE id IN ('e4', 'e6')`,
    );
    expect(rows.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: "e4", n: null },
      { id: "e6", n: 101n },
    ]);
    const files = readdirSync(join(dir, "data", "raw", "events")).filter((f) => !f.startsWith("."));
    expect(files.length).toBe(2);
  });
});

describe("contract: CSV rows with the wrong field count", () => {
  it("are failing rows with their line, not a crash", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  tx:
    source: { type: file, path: tx.csv }
    contract:
      columns:
        id: { type: integer, required: true, unique: true }
        amount: { type: number, min: 0 }
        currency: { type: string, enum: [EUR, USD] }
    validation: quarantine
    sinks: [ { type: parquet, path: raw/tx } ]
`);
    writeFileSync(
      join(dir, "tx.csv"),
      "id,amount,currency\n1,10.5,EUR\n2,oops,USD\n3,1,EUR,extra\n4,-1,GBP\n5,7,USD\n",
    );
    const r = await runCli(["run", "--json"], { cwd: dir });
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(r.code, r.stderr).toBe(0);
    expect(record.rows).toMatchObject({ extracted: 5, valid: 2, quarantined: 3 });
    const q = await query<{ pos: string; rules: string }>(
      `SELECT _source_pos AS pos, ${RULES}
       FROM '${join(dir, "data", record.quarantine_path!)}'`,
    );
    expect(q).toEqual([
      { pos: "tx.csv:3", rules: "amount.type" },
      { pos: "tx.csv:4", rules: "unparseable" },
      { pos: "tx.csv:5", rules: "amount.min,currency.enum" },
    ]);
  });
});

describe("alerts", () => {
  it("fire into the record and the log", async () => {
    const dir = project({
      validation: "quarantine",
      alerts: `    alerts:
      - { metric: validation_pass_rate, below: 1.0 }
      - { metric: null_rate.n, above: 0.2 }
      - { metric: unique.kind, below: 5 }
      - { metric: duplicate_rate, above: 0.5 }
`,
    });
    const { code, record, stderr } = await run(dir);
    expect(code).toBe(0);
    expect(record.metrics.unique).toEqual({ id: 3, kind: 2 });
    expect(record.alerts.map((a) => `${a.metric} ${a.rule}`)).toEqual([
      "validation_pass_rate below 1",
      "null_rate.n above 0.2",
      "unique.kind below 5",
    ]);
    expect(record.alerts[0]!.message).toContain("events: validation_pass_rate = 0.1429 is below 1");
    expect(stderr).toContain("alert: events: null_rate.n = 0.3333 is above 0.2");
  });
});
