// Issue 9: the plain copy is the cheapest path. A 1M-row JSONL file with no contract and
// `validation: "off"` -> Parquet must take at most 1.3x what DuckDB alone takes to read the same
// file and write Parquet (the reference of jsonl.mjs), both measured in this run, each as a fresh
// process, two rounds alternating, the best of each kept.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, ensureInput, out, ROWS, reference, root, timed } from "./jsonl.mjs";

const work = join(out, "jsonl-plain");
const ROUNDS = 2;

const config = `version: 1
data_dir: ./data
pipelines:
  events_plain:
    source: { type: file, path: ../events.jsonl }
    validation: "off"
    sinks:
      - { type: parquet, path: raw/behavioral_events, layout: snapshot, compression: snappy }
`;

export default {
  name: "1M-row JSONL -> Parquet, no contract, validation off",
  target: "<= 1.3x reference",
  async run() {
    const input_from = await ensureInput();
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, "sluice.yaml"), config);
    writeFileSync(
      join(work, "reference.mjs"),
      reference.replace(join(out, "jsonl", "reference.parquet"), join(work, "reference.parquet")),
    );
    let best = Infinity;
    let bestRef = Infinity;
    let record;
    for (let round = 0; round < ROUNDS; round++) {
      bestRef = Math.min(bestRef, timed([join(work, "reference.mjs")], root).seconds);
      rmSync(join(work, "data"), { recursive: true, force: true });
      const run = timed([cli, "run", "-c", join(work, "sluice.yaml"), "--json"], work);
      best = Math.min(best, run.seconds);
      record = JSON.parse(run.stdout);
    }
    if (record.status !== "succeeded" || record.rows.extracted !== ROWS || record.rows.written !== ROWS) {
      throw new Error(
        `unexpected run record: ${JSON.stringify({ status: record.status, rows: record.rows, error: record.error })}`,
      );
    }
    const ratio = best / bestRef;
    return {
      seconds: best,
      reference_seconds: bestRef,
      ratio,
      pass: ratio <= 1.3,
      extra: { input_from, stages_ms: record.durations_ms },
    };
  },
};
