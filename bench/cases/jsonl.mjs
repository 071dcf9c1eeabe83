// SPEC section 11: a 1M-row JSONL file -> contract -> Parquet must take at most 1.5x what DuckDB alone takes
// to read the same file and write Parquet with no checks. Both run in the same bench run, each as a fresh
// process (Node + DuckDB start-up counted on both sides), two rounds alternating; the best of each is kept.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const out = join(root, "bench", "out");
const work = join(out, "jsonl");

export { cli, out, root };

const cli = join(root, "dist", "cli", "main.js");
export const ROWS = 1_000_000;
export const input = join(out, "events.jsonl");
const ROUNDS = 2;

// The S1 contract (SPEC section 3), all 15 columns, as in examples/behavioral-events/sluice.yaml.
const config = `version: 1
data_dir: ./data
contracts:
  behavioral_event:
    columns:
      id: { type: string, required: true, pattern: "^c[a-z0-9]{24}$", unique: true }
      userId: { type: string, required: true, pattern: "^c[a-z0-9]{24}$" }
      sessionId: { type: string, required: true, pattern: "^c[a-z0-9]{24}$" }
      eventType:
        type: string
        required: true
        enum: [lesson_started, lesson_completed, quiz_answered, card_reviewed, session_started, session_ended, hint_requested, feedback_given]
      eventData: { type: json }
      timestamp: { type: timestamp, required: true, not_future: true }
      experimentPhase: { type: string, enum: [baseline_A_1, intervention_B_1, baseline_A_2, intervention_B_2] }
      lessonId: { type: string, required: true, pattern: "^c[a-z0-9]{24}$" }
      cardId: { type: string, pattern: "^c[a-z0-9]{24}$" }
      durationMs: { type: integer, min: 0, max: 86400000 }
      score: { type: number, min: 0, max: 1 }
      completed: { type: boolean }
      deviceType: { type: string, enum: [web, ios, android, tablet] }
      createdAt: { type: timestamp, required: true }
      updatedAt: { type: timestamp, required: true }
    extra_columns: reject
pipelines:
  events_jsonl:
    source: { type: file, path: ../events.jsonl }
    contract: behavioral_event
    validation: quarantine
    sinks:
      - { type: parquet, path: raw/behavioral_events, layout: snapshot, compression: snappy }
`;

export const sql = (text) => `'${text.replaceAll("'", "''")}'`;

// DuckDB alone: read the JSONL, write Snappy Parquet, nothing else.
export const referenceSql = `COPY (SELECT * FROM read_json(${sql(input)})) TO ${sql(join(work, "reference.parquet"))} (FORMAT parquet, COMPRESSION snappy)`;
export const reference = `import { DuckDBInstance } from "@duckdb/node-api";
const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
await con.run(${JSON.stringify(referenceSql)});
`;

/** Fallback generator (valid S1 rows) for when `sluice generate` is not available. */
const generateSql = (target) => `COPY (
  SELECT
    'c' || substr(md5('e' || i), 1, 24) AS id,
    'c' || substr(md5('u' || (i * 7919 % 5000)), 1, 24) AS userId,
    'c' || substr(md5('s' || (i // 12)), 1, 24) AS sessionId,
    (['lesson_started','lesson_completed','quiz_answered','card_reviewed','session_started','session_ended','hint_requested','feedback_given'])[1 + i % 8] AS eventType,
    json_object('kind', i % 5, 'answer', 'a' || (i % 4), 'correct', i % 3 = 0) AS eventData,
    TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_milliseconds(i * 6000) AS timestamp,
    CASE WHEN i % 20 = 0 THEN NULL ELSE (['baseline_A_1','intervention_B_1','baseline_A_2','intervention_B_2'])[1 + (i * 4 // ${ROWS})] END AS experimentPhase,
    'c' || substr(md5('l' || (i % 240)), 1, 24) AS lessonId,
    CASE WHEN i % 3 = 0 THEN NULL ELSE 'c' || substr(md5('k' || (i % 2880)), 1, 24) END AS cardId,
    (i * 37) % 600000 AS durationMs,
    CASE WHEN i % 5 = 0 THEN NULL ELSE ((i * 13) % 1001) / 1000.0 END AS score,
    i % 2 = 0 AS completed,
    (['web','ios','android','tablet'])[1 + i % 4] AS deviceType,
    TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_milliseconds(i * 6000) AS createdAt,
    TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_milliseconds(i * 6000 + 500) AS updatedAt
  FROM range(${ROWS}) t(i)
) TO ${sql(target)} (FORMAT json)`;

export async function ensureInput() {
  const marker = `${input}.rows`;
  if (existsSync(input) && existsSync(marker) && readFileSync(marker, "utf8").trim() === String(ROWS)) return "reused";
  mkdirSync(out, { recursive: true });
  const aside = join(out, ".events.tmp.jsonl");
  rmSync(aside, { force: true });
  const gen = spawnSync(
    process.execPath,
    [cli, "generate", "behavioral_events", "--rows", String(ROWS), "--out", aside],
    { cwd: root, encoding: "utf8" },
  );
  let how = "sluice generate";
  if (gen.status !== 0 || !existsSync(aside)) {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:");
    const con = await db.connect();
    await con.run("SET TimeZone = 'UTC'");
    await con.run(generateSql(aside));
    con.closeSync();
    db.closeSync();
    how = "DuckDB SQL (sluice generate unavailable)";
  }
  renameSync(aside, input);
  writeFileSync(marker, `${ROWS}\n`);
  return how;
}

export function timed(args, cwd) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { seconds, stdout: r.stdout };
}

/**
 * Prepares `dir` with `config` and the reference script, then runs the reference and `sluice run`
 * alternately ROUNDS times, each as a fresh process: the best time of each and the last run record.
 */
export function alternate(dir, config, referenceScript) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "sluice.yaml"), config);
  writeFileSync(join(dir, "reference.mjs"), referenceScript);
  let best = Infinity;
  let bestRef = Infinity;
  let record;
  for (let round = 0; round < ROUNDS; round++) {
    bestRef = Math.min(bestRef, timed([join(dir, "reference.mjs")], root).seconds);
    rmSync(join(dir, "data"), { recursive: true, force: true });
    const run = timed([cli, "run", "-c", join(dir, "sluice.yaml"), "--json"], dir);
    best = Math.min(best, run.seconds);
    record = JSON.parse(run.stdout);
  }
  return { best, bestRef, record };
}

export default {
  name: "1M-row JSONL -> contract -> Parquet",
  target: "<= 1.5x reference",
  async run() {
    const input_from = await ensureInput();
    const { best, bestRef, record } = alternate(work, config, reference);
    const rows = record.rows;
    if (record.status !== "succeeded" || rows.extracted !== ROWS || rows.valid + rows.quarantined !== ROWS) {
      throw new Error(`unexpected run record: ${JSON.stringify({ status: record.status, rows, error: record.error })}`);
    }
    const ratio = best / bestRef;
    return {
      seconds: best,
      reference_seconds: bestRef,
      ratio,
      pass: ratio <= 1.5,
      extra: { input_from, rows, stages_ms: record.durations_ms },
    };
  },
};
