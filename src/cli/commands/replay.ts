import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { replayQuarantine } from "../../runner/replay-quarantine.js";
import { createLogger } from "../../util/logger.js";
import { Progress } from "../../util/progress.js";
import { action } from "../action.js";
import { loadFromFlags } from "../load.js";
import { plural } from "../plural.js";
import { formatSummary } from "../summary.js";
import { replayDeadLetterFiles } from "./replay-deadletter.js";

interface ReplayFlags {
  config?: string;
  run?: string;
  deadletter?: string | boolean;
  json?: boolean;
  syncDuckdb?: boolean;
  skipTransforms?: boolean;
}

export function register(program: Command): void {
  program
    .command("replay")
    .description(
      "Re-run a run's quarantined rows through the current transforms, contract and dedup: rows that pass are written, the rest stay quarantined.",
    )
    .argument("<pipeline>", "pipeline name from the config")
    .option("--run <run_id>", "the run whose quarantined rows to replay (see `sluice quarantine PIPELINE`)")
    .option(
      "--deadletter [file]",
      "replay dead letters instead: FILE of deadletter/<pipeline>/, or every file (see `sluice deadletter PIPELINE`)",
    )
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--json", "print the replay's run record as JSON on stdout")
    .option("--no-sync-duckdb", "skip DuckDB sinks for this replay")
    .option(
      "--skip-transforms",
      "replay through the contract and dedup only (quarantined rows were stored after the transforms ran)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  sluice replay behavioral_events --run 20260301T020000Z_3fa9c1\n  sluice replay transactions --run 20260301T020000Z_3fa9c1 --skip-transforms\n  sluice replay events --deadletter",
    )
    .action(
      action(async (pipeline: string, flags: ReplayFlags) => {
        if (flags.deadletter !== undefined && flags.run !== undefined)
          throw new ConfigError("give either --run or --deadletter, not both");
        if (flags.deadletter !== undefined) return replayDeadLetterFiles(pipeline, flags);
        if (flags.run === undefined) throw new ConfigError("missing --run <run_id> (or --deadletter [file])");
        const run = flags.run;
        const loaded = await loadFromFlags(flags);
        const progress = new Progress(process.stderr.isTTY === true && !flags.json);
        const result = await replayQuarantine(loaded, pipeline, run, {
          log: createLogger(),
          progress,
          ...(flags.syncDuckdb === false ? { syncDuckdb: false } : {}),
          ...(flags.skipTransforms ? { skipTransforms: true } : {}),
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(result.record, null, 2)}\n`);
        } else {
          process.stdout.write(formatSummary(result.record));
          if (result.record.status === "succeeded") {
            process.stdout.write(
              `  replayed ${plural(result.replayed, "row")} of run ${flags.run}: ${result.passed} passed, ${result.stillQuarantined} still quarantined\n`,
            );
          }
        }
        return result.record.status === "succeeded" ? 0 : 1;
      }),
    );
}
