// SPEC section 11: 1M behavioral_events rows as Snappy Parquet take 30 MB or less. Measured twice:
// - `sluice generate ... --out events.parquet` (the generator's own writer), which decides `pass`;
// - the lake snapshot a pipeline writes for the same rows (generate source -> parquet sink, snappy, no contract,
//   lineage columns added), reported as `extra.lake_bytes` so a sink that encodes worse shows up here.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const work = join(root, "bench", "out", "parquet-size");
const LIMIT = 30_000_000;

const config = `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 1000000, seed: 42, anchor: "2025-06-01" }
    validation: "off"
    sinks:
      - { type: parquet, path: raw/behavioral_events, layout: snapshot, compression: snappy }
`;

export default {
  name: "Parquet size, 1M behavioral_events rows, Snappy",
  target: "<= 30 MB",
  async run() {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const out = join(work, "events.parquet");
    const started = performance.now();
    const g = spawnSync(
      process.execPath,
      [cli, "generate", "behavioral_events", "--rows", "1000000", "--out", out, "--anchor", "2025-06-01"],
      { encoding: "utf8" },
    );
    const seconds = (performance.now() - started) / 1000;
    if (g.status !== 0) throw new Error(`sluice generate exited ${g.status}: ${g.stderr}`);
    const bytes = statSync(out).size;

    const extra = { bytes, mb: Number((bytes / 1e6).toFixed(2)) };
    writeFileSync(join(work, "sluice.yaml"), config);
    const r = spawnSync(process.execPath, [cli, "run", "--json"], { cwd: work, encoding: "utf8" });
    if (r.status === 0) {
      const dir = join(work, "data", "raw", "behavioral_events");
      const snapshot = readdirSync(dir).find((f) => /_\d{8}_\d{6}\.parquet$/.test(f));
      if (snapshot) {
        extra.lake_bytes = statSync(join(dir, snapshot)).size;
        extra.lake_mb = Number((extra.lake_bytes / 1e6).toFixed(2));
      }
    } else {
      extra.lake_error = `sluice run exited ${r.status}: ${r.stderr.slice(0, 300)}`;
    }
    return { seconds, reference_seconds: null, ratio: null, pass: bytes <= LIMIT, extra };
  },
};
