// Issue 9: the plain copy is the cheapest path. A 1M-row JSONL file with no contract and
// `validation: "off"` -> Parquet must take at most 1.3x what DuckDB alone takes to read the same
// file and write Parquet (the reference of jsonl.mjs), both measured in this run, each as a fresh
// process, two rounds alternating, the best of each kept.
import { join } from "node:path";
import { alternate, ensureInput, out, ROWS, reference } from "./jsonl.mjs";

const work = join(out, "jsonl-plain");

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
    const referenceScript = reference.replace(join(out, "jsonl", "reference.parquet"), join(work, "reference.parquet"));
    const { best, bestRef, record } = alternate(work, config, referenceScript);
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
