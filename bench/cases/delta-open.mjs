// Opening a Delta table of 1,000 commits and reading its file list: readDeltaSnapshot (the newest
// checkpoint plus the JSON commits after it) on a table written with a checkpoint every 10 commits, against
// the same on a table written without checkpoints (a replay of 1,000 JSON commits), measured in this run.
// Both tables are made by sluice's writer (appendToDelta, 5 rows over 2 daily partitions per commit: 2 files
// each, 2,000 live files) with checkpointInterval 10 and 0, and cached in bench/out/delta-open/.
//
// What is timed: readDeltaSnapshot(root, {}, engine) on one DuckDB session shared by every open (after one
// untimed warm-up open of each table), then a pass over snapshot.files (sizes and stats.numRecords summed):
// the median of OPENS opens, the two tables interleaved. `extra.no_engine_ms`: the same without an engine
// argument (readDeltaSnapshot opens a scratch session itself, as a one-shot CLI read does), median too.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../../dist/engine/engine.js";
import { appendToDelta, readDeltaSnapshot } from "../../dist/lake/delta/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const WORK = join(here, "..", "..", "bench", "out", "delta-open");
const COMMITS = 1_000;
const ROWS_PER_COMMIT = 5;
const OPENS = 5;
const TARGET = 0.5;
/** Bump when the way the tables are built changes: cached tables of another version are rebuilt. */
const TABLE_VERSION = 1;

const log = (msg) => process.stderr.write(`  delta-open: ${msg}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The table at `root` with COMMITS appends, built (in a temp folder, renamed when complete) unless cached. */
async function ensureTable(name, checkpointInterval) {
  const root = join(WORK, `v${TABLE_VERSION}-${name}`);
  const done = join(root, ".complete");
  if (existsSync(done)) return { root, buildSeconds: 0 };
  const building = `${root}.building`;
  rmSync(building, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const t0 = performance.now();
  const engine = await Engine.open({ threads: 1 });
  try {
    for (let v = 0; v < COMMITS; v++) {
      await engine.run(
        `CREATE OR REPLACE TABLE batch AS
           SELECT ${v * ROWS_PER_COMMIT} + r AS id, DATE '2025-01-01' + ((${v} + r) % 2)::INTEGER + (${v} // 100)::INTEGER AS event_date,
                  'u' || (r % 3)::VARCHAR AS user_id, r * 1.5 AS amount
           FROM range(${ROWS_PER_COMMIT}) t(r)`,
      );
      const r = await appendToDelta(engine, building, "batch", {
        partitionColumns: ["event_date"],
        appId: "bench",
        txnVersion: v,
        checkpointInterval,
      });
      if (r.status !== "committed" || r.version !== v) throw new Error(`${name}: commit ${v} -> ${JSON.stringify(r)}`);
      if ((v + 1) % 250 === 0) log(`${name}: ${v + 1}/${COMMITS} commits`);
    }
  } finally {
    engine.close();
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  writeFileSync(join(building, ".complete"), `${buildSeconds}\n`);
  renameSync(building, root);
  return { root, buildSeconds };
}

/** One open: the snapshot and a pass over its file list. */
async function open(root, engine) {
  const t0 = performance.now();
  const snap = await readDeltaSnapshot(root, {}, engine);
  let bytes = 0;
  let rows = 0;
  for (const f of snap.files) {
    bytes += f.size;
    rows += Number(f.stats?.numRecords ?? 0);
  }
  return { ms: performance.now() - t0, snap, bytes, rows };
}

export default {
  name: "open a Delta table of 1,000 commits (checkpoint every 10) + read its file list",
  target: `<= ${TARGET}x the same table without checkpoints`,
  async run() {
    log("building (or reusing) the two tables");
    const withCp = await ensureTable("checkpoints", 10);
    const without = await ensureTable("no-checkpoints", 0);
    const logFiles = (root) => readdirSync(join(root, "_delta_log"));
    const engine = await Engine.open();
    const times = { with: [], without: [], withNoEngine: [], withoutNoEngine: [] };
    let a;
    let b;
    try {
      await open(withCp.root, engine);
      await open(without.root, engine);
      for (let i = 0; i < OPENS; i++) {
        a = await open(withCp.root, engine);
        b = await open(without.root, engine);
        times.with.push(a.ms);
        times.without.push(b.ms);
      }
      for (let i = 0; i < OPENS; i++) {
        times.withNoEngine.push((await open(withCp.root)).ms);
        times.withoutNoEngine.push((await open(without.root)).ms);
      }
    } finally {
      engine.close();
    }
    const expectFiles = COMMITS * 2;
    for (const [name, s] of [
      ["checkpoints", a],
      ["no-checkpoints", b],
    ]) {
      if (s.snap.version !== COMMITS - 1) throw new Error(`${name}: version ${s.snap.version}`);
      if (s.snap.files.length !== expectFiles) throw new Error(`${name}: ${s.snap.files.length} files`);
      if (s.rows !== COMMITS * ROWS_PER_COMMIT) throw new Error(`${name}: ${s.rows} rows in the stats`);
      if (s.snap.txns.bench?.version !== COMMITS - 1) throw new Error(`${name}: txn ${JSON.stringify(s.snap.txns)}`);
    }
    if (a.snap.checkpointVersion !== 990) throw new Error(`opened from checkpoint ${a.snap.checkpointVersion}`);
    if (b.snap.checkpointVersion !== undefined) throw new Error(`no-checkpoints table has a checkpoint`);
    const seconds = median(times.with) / 1000;
    const reference = median(times.without) / 1000;
    const ratio = seconds / reference;
    const r1 = (x) => Number(x.toFixed(1));
    return {
      seconds,
      reference_seconds: reference,
      ratio,
      pass: ratio <= TARGET,
      extra: {
        version: a.snap.version,
        checkpoint_version: a.snap.checkpointVersion,
        live_files: a.snap.files.length,
        log_files: { checkpoints: logFiles(withCp.root).length, no_checkpoints: logFiles(without.root).length },
        opens_ms: { checkpoints: times.with.map(r1), no_checkpoints: times.without.map(r1) },
        no_engine_ms: {
          checkpoints: r1(median(times.withNoEngine)),
          no_checkpoints: r1(median(times.withoutNoEngine)),
        },
        ...(withCp.buildSeconds || without.buildSeconds
          ? {
              build_seconds: {
                checkpoints: r1(withCp.buildSeconds),
                no_checkpoints: r1(without.buildSeconds),
              },
            }
          : {}),
      },
    };
  },
};
