import type { Command } from "commander";
import { suggest } from "../../config/suggest.js";
import { ConfigError, SluiceError } from "../../errors.js";
import type { RunRecord } from "../../plan/run-record.js";
import { Ledger } from "../../runner/ledger.js";
import { action } from "../action.js";
import { loadFromFlags } from "../load.js";
import { formatSummary } from "../summary.js";

export function register(program: Command): void {
  const runs = program
    .command("runs")
    .description("List the run ledger (newest last).")
    .argument("[pipeline]", "only this pipeline's runs")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--json", "print the records as JSON")
    .option("--limit <n>", "show the newest N runs", "20")
    .addHelpText(
      "after",
      "\nExamples:\n  sluice runs behavioral_events\n  sluice runs show 20260301T020000Z_3fa9c1 --json",
    )
    .action(
      action(async (pipeline: string | undefined, flags: { config?: string; json?: boolean; limit: string }) => {
        const loaded = await loadFromFlags(flags, { readOnly: true });
        const records = new Ledger(loaded.dataDir).list(pipeline).slice(-Number(flags.limit));
        if (records.length === 0 && pipeline !== undefined && !loaded.config.pipelines[pipeline]) {
          throw unknownPipeline(pipeline, Object.keys(loaded.config.pipelines));
        }
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
          return 0;
        }
        process.stdout.write(formatRuns(records));
        return 0;
      }),
    );
  runs
    .command("show")
    .description("Show one run record.")
    .argument("<run_id>")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--json", "print the record as JSON")
    .action(
      action(async (runId: string, own: { config?: string; json?: boolean }) => {
        // `--json` and `-c` are also options of `runs`, so commander may hand them to the parent.
        const flags = { ...runs.opts(), ...own } as { config?: string; json?: boolean };
        const loaded = await loadFromFlags(flags, { readOnly: true });
        const record = new Ledger(loaded.dataDir).get(runId);
        if (!record) {
          throw new SluiceError(`no run ${runId} in ${loaded.dataDir}/runs`, {
            component: "ledger",
            stage: "runs",
            hint: "list run ids with `sluice runs`",
          });
        }
        process.stdout.write(flags.json ? `${JSON.stringify(record, null, 2)}\n` : formatSummary(record));
        if (!flags.json)
          process.stdout.write(
            `  durations_ms: ${JSON.stringify(record.durations_ms)}\n  metrics: ${JSON.stringify(record.metrics)}\n`,
          );
        return 0;
      }),
    );
}

/** The run list: a header and one line per run, oldest first; `no runs yet` when there are none. */
function formatRuns(records: readonly RunRecord[]): string {
  if (records.length === 0) return "no runs yet\n";
  const rows = records.map((r) => [
    r.run_id,
    r.pipeline,
    r.status,
    String(r.rows.written),
    r.rows.dataset == null ? "-" : String(r.rows.dataset),
    `${((Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000).toFixed(1)}s`,
  ]);
  // `written`: rows this run's batch put in; `dataset`: rows the dataset holds after it.
  const header = ["run_id", "pipeline", "status", "written", "dataset", "duration"];
  const right = [false, false, false, true, true, true];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[header, ...rows].map(line).join("\n")}\n`;
}

/** `runs NAME` for a name that is neither in the config nor in the ledger. */
function unknownPipeline(name: string, pipelines: readonly string[]): ConfigError {
  const s = suggest(name, pipelines);
  return new ConfigError(
    `unknown pipeline ${JSON.stringify(name)}; pipelines: ${pipelines.join(", ") || "none"}${s ? `; did you mean ${JSON.stringify(s)}?` : ""}`,
  );
}
