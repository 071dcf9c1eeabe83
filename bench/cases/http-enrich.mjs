// HTTP enrichment (issue 12): 50K generated card transactions classified through the `http` transform
// (batch_size 500, concurrency 4, response contract) against the reference classifier with no injected
// latency, by the real CLI (`sluice run`, the transform stage's own timing from the run record). The
// reference, measured in the same run against the same classifier: a bare fetch loop POSTing the same
// records as JSON arrays of 500, four in flight, parsing each answer (the HTTP and classification floor,
// with no matching, checking or dead letters). Best of three rounds each.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CATEGORIES } from "../../dist/classifier/classify-record.js";
import { startClassifier } from "../../dist/classifier/start-classifier.js";

const run = promisify(execFile);
const CLI = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const ROWS = Number(process.env.SLUICE_BENCH_HTTP_ROWS ?? 50_000);
const BATCH = 500;
const CONCURRENCY = 4;
const ROUNDS = 3;
const FIELDS = ["transaction_id", "description", "merchant", "mcc", "amount"];

function project(dir, url) {
  writeFileSync(
    join(dir, "sluice.yaml"),
    `version: 1
data_dir: ./data
pipelines:
  tx:
    source: { type: file, path: tx.jsonl }
    transforms:
      - type: http
        name: classify
        url: ${url}/classify
        batch_size: ${BATCH}
        concurrency: ${CONCURRENCY}
        key: transaction_id
        fields: [${FIELDS.join(", ")}]
        response:
          category: { enum: [${CATEGORIES.join(", ")}] }
          confidence: { type: number, min: 0, max: 1 }
    sinks:
      - { type: parquet, path: lake/tx }
`,
  );
}

/** The reference: the same records, POSTed in arrays of BATCH, CONCURRENCY in flight, answers parsed. */
async function bareLoop(url, records) {
  const bodies = [];
  for (let i = 0; i < records.length; i += BATCH) bodies.push(JSON.stringify(records.slice(i, i + BATCH)));
  const t0 = performance.now();
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await fetch(`${url}/classify`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      if (!res.ok) throw new Error(`classifier answered ${res.status}`);
      answered += (await res.json()).length;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (answered !== records.length) throw new Error(`bare loop: ${answered} answers for ${records.length} records`);
  return (performance.now() - t0) / 1000;
}

// The classifier serves from this process: the CLI runs asynchronously (a synchronous child would block it).
async function sluiceRun(dir) {
  rmSync(join(dir, "data"), { recursive: true, force: true });
  await run(process.execPath, [CLI, "run", "tx", "--json"], { cwd: dir, maxBuffer: 1 << 26 });
  const records = JSON.parse(
    (await run(process.execPath, [CLI, "runs", "--json"], { cwd: dir, maxBuffer: 1 << 26 })).stdout,
  );
  const record = (Array.isArray(records) ? records : records.runs).at(-1);
  if (record.status !== "succeeded" || record.rows.written !== ROWS) {
    throw new Error(`sluice run: ${record.status}, ${JSON.stringify(record.rows)}`);
  }
  const total = (Date.parse(record.finished_at) - Date.parse(record.started_at)) / 1000;
  return { transform: record.durations_ms.transform / 1000, total };
}

export default {
  name: `http enrich: ${ROWS / 1000}K transactions through the classifier, batch ${BATCH} (no latency) vs bare fetch loop`,
  target: "report (no target set)",
  async run() {
    const dir = mkdtempSync(join(tmpdir(), "sluice-bench-http-"));
    const api = await startClassifier({ seed: 1 });
    try {
      await run(process.execPath, [
        CLI,
        "generate",
        "transactions",
        "--rows",
        String(ROWS),
        "--seed",
        "3",
        "--out",
        join(dir, "tx.jsonl"),
      ]);
      const records = readFileSync(join(dir, "tx.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => {
          const r = JSON.parse(l);
          return Object.fromEntries(FIELDS.map((f) => [f, r[f]]));
        });
      project(dir, api.url);
      const best = { bare: Infinity, transform: Infinity, total: Infinity };
      for (let round = 0; round < ROUNDS; round++) {
        best.bare = Math.min(best.bare, await bareLoop(api.url, records));
        const s = await sluiceRun(dir);
        best.transform = Math.min(best.transform, s.transform);
        best.total = Math.min(best.total, s.total);
      }
      const perSecond = (s) => Math.round(ROWS / s);
      return {
        seconds: best.transform,
        reference_seconds: best.bare,
        ratio: best.transform / best.bare,
        pass: true,
        extra: {
          rows: ROWS,
          batch_size: BATCH,
          concurrency: CONCURRENCY,
          enrich_records_per_s: perSecond(best.transform),
          bare_fetch_records_per_s: perSecond(best.bare),
          whole_run_s: Number(best.total.toFixed(3)),
          requests: api.requests(),
        },
      };
    } finally {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
