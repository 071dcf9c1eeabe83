// SPEC section 11: `sluice generate behavioral_events --rows 1000000 --out x.parquet` under 1.5 s wall, process
// start-up included (Node, the CLI's imports, DuckDB). No reference: the target is absolute. Three runs of the
// built CLI, each a fresh process; the median is reported (all three are in `extra`). The file must be 1M rows.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const work = join(root, "bench", "out", "generate");
const RUNS = 3;

export default {
  name: "generate 1M behavioral_events -> Parquet",
  target: "< 1.5 s",
  async run() {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const out = join(work, "events.parquet");
    const runs = [];
    for (let k = 0; k < RUNS; k++) {
      const started = performance.now();
      const r = spawnSync(
        process.execPath,
        [cli, "generate", "behavioral_events", "--rows", "1000000", "--out", out, "--anchor", "2025-06-01", "--json"],
        { encoding: "utf8" },
      );
      const seconds = (performance.now() - started) / 1000;
      if (r.status !== 0) throw new Error(`sluice generate exited ${r.status}: ${r.stderr}`);
      const summary = JSON.parse(r.stdout);
      if (summary.rows !== 1_000_000) throw new Error(`expected 1000000 rows, got ${summary.rows}`);
      runs.push(seconds);
    }
    const seconds = [...runs].sort((a, b) => a - b)[Math.floor(RUNS / 2)];
    return {
      seconds,
      reference_seconds: null,
      ratio: null,
      pass: seconds < 1.5,
      extra: { bytes: statSync(out).size, runs: runs.map((s) => Number(s.toFixed(3))) },
    };
  },
};
