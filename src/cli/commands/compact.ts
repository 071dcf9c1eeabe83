import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { compactDelta } from "../../lake/delta/index.js";
import { action } from "../action.js";
import { forEachDeltaTable } from "../delta-tables.js";
import { plural } from "../plural.js";

interface CompactFlags {
  config?: string;
  json?: boolean;
  minFiles: string;
}

export function register(program: Command): void {
  program
    .command("compact")
    .description(
      "Merge the small files of each partition of a pipeline's Delta tables (sinks with `format: delta`) into one, in one commit; rows unchanged.",
    )
    .argument("<pipeline>", "pipeline name from the config")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--min-files <n>", "compact partitions with at least this many files", "2")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  sluice compact events\n  sluice compact events --min-files 10 --json")
    .action(
      action(async (pipeline: string, flags: CompactFlags) => {
        const minFiles = Number(flags.minFiles);
        if (!Number.isInteger(minFiles) || minFiles < 2) {
          throw new ConfigError(`--min-files ${flags.minFiles}: expected a whole number >= 2`);
        }
        const results = await forEachDeltaTable(pipeline, flags, "compact", async (engine, root, path, runId) => {
          const result = await compactDelta(engine, root, { minFiles, runId });
          if (!flags.json) {
            process.stdout.write(
              result.filesRemoved === 0
                ? `${path}: nothing to compact (version ${result.version})\n`
                : `${path}: ${plural(result.filesRemoved, "file")} in ${plural(result.partitions, "partition")} -> ${plural(result.filesAdded, "file")} (version ${result.version})\n`,
            );
          }
          return { sink: `parquet:${path}`, ...result };
        });
        if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        return 0;
      }),
    );
}
