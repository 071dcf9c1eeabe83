#!/usr/bin/env node
// `npm run soak:serve [-- --minutes 60] [--sample-s 10] [--pipelines 2] [--http]`: memory of a long-running
// `sluice serve` (issue 13: "the server's RSS stays flat over an hour of per-second schedules").
//
// A temporary project with --pipelines pipelines on a per-second schedule (`* * * * * *`, generate 100
// rows -> Parquet), each with an `after:` dependent, served by `sluice serve --no-http` (--http: with the
// dashboard on a free port) for --minutes. Every --sample-s seconds it reads the server's VmRSS
// (/proc/PID/status; the runs are child processes, their memory is theirs) and counts the runs the
// server logged; at the end it prints the JSON result on stdout (also bench/out/serve-soak.json): the RSS
// series, RSS after the first minute and at the end, their ratio (`pass`: at most 1.2) and the runs.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const { values: opts } = parseArgs({
  options: {
    minutes: { type: "string", default: "60" },
    "sample-s": { type: "string", default: "10" },
    pipelines: { type: "string", default: "2" },
    http: { type: "boolean", default: false },
  },
});
const minutes = Number(opts.minutes);
const sampleS = Number(opts["sample-s"]);
const pipelines = Number(opts.pipelines);
const say = (m) => process.stderr.write(`soak serve: ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** The project: N per-second pipelines, each with an `after` dependent. */
function project() {
  const dir = mkdtempSync(join(tmpdir(), "sluice-serve-soak-"));
  const lines = ["version: 1", "data_dir: ./data", "pipelines:"];
  for (let i = 0; i < pipelines; i++) {
    lines.push(
      `  tick_${i}:`,
      `    source: { type: generate, dataset: behavioral_events, rows: 100, seed: ${i} }`,
      `    schedule: "* * * * * *"`,
      `    sinks: [{ type: parquet, path: lake/tick_${i} }]`,
      `  after_${i}:`,
      `    source: { type: generate, dataset: behavioral_events, rows: 10, seed: ${i} }`,
      `    after: [tick_${i}]`,
      `    sinks: [{ type: parquet, path: lake/after_${i} }]`,
    );
  }
  writeFileSync(join(dir, "sluice.yaml"), `${lines.join("\n")}\n`);
  return dir;
}

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: round(kb("VmRSS") / 1024), hwm: round(kb("VmHWM") / 1024) };
}

/** The median of the readings from `fromS` to `toS` seconds (one reading swings with a run's start). */
function medianRss(samples, fromS, toS) {
  const xs = samples
    .filter((s) => s.t_s >= fromS && s.t_s <= toS)
    .map((s) => s.rss_mb)
    .sort((a, b) => a - b);
  return xs.length ? xs[Math.floor(xs.length / 2)] : Number.NaN;
}

const dir = project();
const args = [CLI, "serve", ...(opts.http ? ["--port", "0"] : ["--no-http"])];
const server = spawn(process.execPath, args, {
  cwd: dir,
  env: { ...process.env, LOG_LEVEL: "info" },
  stdio: ["ignore", "ignore", "pipe"],
});
const counts = { started: 0, succeeded: 0, failed: 0, refused: 0 };
/** The first few failed runs' and refusals' messages (what went wrong, when something did). */
const problems = [];
let pending = "";
server.stderr.on("data", (d) => {
  const parts = (pending + d.toString()).split("\n");
  pending = parts.pop() ?? "";
  for (const line of parts) {
    if (line.includes('"event":"run-started"')) counts.started++;
    else if (line.includes('"event":"run-ended"')) {
      const ok = line.includes('"status":"succeeded"');
      counts[ok ? "succeeded" : "failed"]++;
      if (!ok && problems.length < 5) problems.push(JSON.parse(line).msg);
    } else if (line.includes('"event":"run-refused"')) {
      counts.refused++;
      if (problems.length < 5) problems.push(JSON.parse(line).msg);
    }
  }
});
let exited = false;
server.once("exit", () => {
  exited = true;
});
say(`serving ${pipelines} per-second pipeline(s) (+ ${pipelines} after-dependents) for ${minutes} min in ${dir}`);

const t0 = Date.now();
const samples = [];
while (!exited && Date.now() - t0 < minutes * 60_000) {
  await sleep(sampleS * 1000);
  if (exited) break;
  const t_s = Math.round((Date.now() - t0) / 1000);
  const { rss, hwm } = rssMb(server.pid);
  samples.push({ t_s, rss_mb: rss, hwm_mb: hwm, runs: counts.succeeded + counts.failed });
  say(`${t_s} s: RSS ${rss} MB (peak ${hwm}), ${counts.succeeded} runs succeeded, ${counts.failed} failed`);
}
if (exited) throw new Error("sluice serve exited during the soak");
server.kill("SIGTERM");
const code = await new Promise((done) => server.once("exit", (c) => done(c)));

const endS = samples.at(-1)?.t_s ?? 0;
const early = medianRss(samples, 30, 90);
const end = medianRss(samples, endS - 60, endS);
const result = {
  minutes,
  pipelines,
  http: opts.http,
  samples,
  runs: counts,
  problems,
  rss_mb: { first: samples[0]?.rss_mb, after_1_min: early, end, max: Math.max(...samples.map((s) => s.rss_mb)) },
  ratio_end_to_1_min: round(end / early, 3),
  pass: end / early <= 1.2,
  exit_code: code,
};
mkdirSync(join(ROOT, "bench", "out"), { recursive: true });
writeFileSync(join(ROOT, "bench", "out", "serve-soak.json"), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
rmSync(dir, { recursive: true, force: true });
