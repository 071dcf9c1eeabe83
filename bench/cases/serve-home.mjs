// Dashboard load (issue 13): the home page of `sluice serve` with 10,000 runs in the ledger must answer in
// under 200 ms. The ledger is made from real run records: one real `sluice run` of each of 5 pipelines (a
// generated dataset, with nulls and duplicates), each record then saved 2,000 times under new run ids and
// times (statuses and durations varied), as the ledger holds them. The dashboard (dist/server/http) runs in
// this process on 127.0.0.1 with a scheduler that only answers (nothing is scheduled); the home page is
// started (the index parses every file once, `start_ms`), fetched once (`first_ms`), then 50 times warm (a new run written before every 10th,
// so the incremental index has work). The reference, measured in the same run: reading the ledger raw
// (readdir + read + JSON.parse of every file, what Ledger.list does on every call).
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../../dist/config/load-config.js";
import { startHttp } from "../../dist/server/http/start-http.js";
import { createLogger } from "../../dist/util/logger.js";

const run = promisify(execFile);
const CLI = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const PIPELINES = ["orders", "payments", "refunds", "clicks", "signups"];
const RUNS = Number(process.env.SLUICE_BENCH_SERVE_RUNS ?? 10_000);
const WARM = 50;
const TARGET_MS = 200;

function config() {
  return `version: 1\ndata_dir: ./data\npipelines:\n${PIPELINES.map(
    (p, i) => `  ${p}:
    source: { type: generate, dataset: transactions, rows: 200, seed: ${i + 1}, chaos: { seed: ${i}, missing_rate: 0.03, dup_rate: 0.02 } }
    sinks:
      - { type: parquet, path: raw/${p} }
`,
  ).join("")}`;
}

/** Run id for time `ms` (`YYYYMMDDTHHMMSSZ_<hex>`, the ledger's format). */
function runId(ms, n) {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19).replace(/[-:]/g, "")}Z_${n.toString(16).padStart(6, "0")}`;
}

/** Saves `count` copies of `template` under new ids, one a minute back from now, as the ledger does. */
function fillLedger(dataDir, template, count, offset) {
  const dir = join(dataDir, "runs", template.pipeline);
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const started = now - (count - i) * 60_000 - offset * 1000;
    const ms = 200 + ((i * 7919) % 1800);
    const failed = i % 97 === 13;
    const id = runId(started, offset * count + i);
    const record = {
      ...template,
      run_id: id,
      started_at: new Date(started).toISOString(),
      finished_at: new Date(started + ms).toISOString(),
      status: failed ? "failed" : "succeeded",
      ...(failed ? { error: { message: "connection refused", hint: "is the database up?", transient: true } } : {}),
    };
    writeFileSync(join(dir, `${id}.json`), `${JSON.stringify(record, null, 2)}\n`);
  }
}

/** The reference: every ledger file read and parsed, as Ledger.list does. */
function readRaw(dataDir) {
  const t0 = performance.now();
  let n = 0;
  for (const p of readdirSync(join(dataDir, "runs"))) {
    for (const f of readdirSync(join(dataDir, "runs", p))) {
      if (f.endsWith(".json")) {
        JSON.parse(readFileSync(join(dataDir, "runs", p, f), "utf8"));
        n++;
      }
    }
  }
  return { ms: performance.now() - t0, n };
}

async function timeGet(url) {
  const t0 = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200 || !text.includes("Pipelines")) throw new Error(`home page: ${res.status}`);
  return performance.now() - t0;
}

const scheduler = {
  pipelines: () => PIPELINES.map((name) => ({ name, kind: "batch", after: [] })),
  runNow: async () => ({ started: false, refused: "bench" }),
  on: () => () => {},
  heartbeat: () => new Date(),
  stop: async () => {},
};

export default {
  name: "dashboard home page, 10K runs in the ledger",
  target: `warm p95 < ${TARGET_MS} ms`,
  async run() {
    const dir = mkdtempSync(join(tmpdir(), "sluice-bench-serve-"));
    try {
      writeFileSync(join(dir, "sluice.yaml"), config());
      await run(process.execPath, [CLI, "run"], { cwd: dir, env: { ...process.env, LOG_LEVEL: "warn" } });
      const loaded = await loadConfig(join(dir, "sluice.yaml"));
      const per = Math.ceil(RUNS / PIPELINES.length);
      PIPELINES.forEach((p, i) => {
        const runDir = join(loaded.dataDir, "runs", p);
        const [real] = readdirSync(runDir);
        const template = JSON.parse(readFileSync(join(runDir, real), "utf8"));
        rmSync(join(runDir, real));
        fillLedger(loaded.dataDir, template, per, i);
      });
      const raw = [readRaw(loaded.dataDir), readRaw(loaded.dataDir), readRaw(loaded.dataDir)];
      const log = createLogger("warn");
      const t0 = performance.now();
      const http = await startHttp(
        { loaded, dataDir: loaded.dataDir, scheduler, log, now: () => new Date() },
        {
          host: "127.0.0.1",
          port: 0,
        },
      );
      const startMs = performance.now() - t0;
      try {
        const cold = await timeGet(`${http.url}/`);
        const warm = [];
        const template = JSON.parse(
          readFileSync(
            join(loaded.dataDir, "runs", PIPELINES[0], readdirSync(join(loaded.dataDir, "runs", PIPELINES[0]))[0]),
            "utf8",
          ),
        );
        for (let i = 0; i < WARM; i++) {
          if (i % 10 === 0) fillLedger(loaded.dataDir, template, 1, 100 + i);
          warm.push(await timeGet(`${http.url}/`));
        }
        const runsPage = await timeGet(`${http.url}/runs`).catch(() => Number.NaN);
        warm.sort((a, b) => a - b);
        const p50 = warm[Math.floor(warm.length * 0.5)];
        const p95 = warm[Math.floor(warm.length * 0.95)];
        const refMs = Math.min(...raw.map((r) => r.ms));
        return {
          seconds: p95 / 1000,
          reference_seconds: refMs / 1000,
          ratio: p95 / refMs,
          pass: p95 < TARGET_MS,
          extra: {
            runs: raw[0].n,
            start_ms: Math.round(startMs),
            first_ms: Math.round(cold),
            warm_p50_ms: Number(p50.toFixed(1)),
            warm_p95_ms: Number(p95.toFixed(1)),
            runs_page_ms: Number(runsPage.toFixed(1)),
            raw_read_ms: Math.round(refMs),
          },
        };
      } finally {
        await http.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
