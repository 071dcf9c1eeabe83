import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { vacuumDelta } from "../../lake/delta/index.js";
import { action } from "../action.js";
import { forEachDeltaTable } from "../delta-tables.js";
import { plural } from "../plural.js";

interface VacuumFlags {
  config?: string;
  json?: boolean;
  dryRun?: boolean;
  retentionHours: string;
}

export function register(program: Command): void {
  program
    .command("vacuum")
    .description(
      "Delete the data files of a pipeline's Delta tables that no version within the retention references (files compaction or a replace removed, leftovers of killed writers).",
    )
    .argument("<pipeline>", "pipeline name from the config")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--retention-hours <n>", "keep what versions of the last N hours need (time travel that far)", "168")
    .option("--dry-run", "list the files that would be deleted, delete nothing")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  sluice vacuum events --dry-run\n  sluice vacuum events --retention-hours 24")
    .action(
      action(async (pipeline: string, flags: VacuumFlags) => {
        const retentionHours = Number(flags.retentionHours);
        if (!Number.isFinite(retentionHours) || retentionHours < 0) {
          throw new ConfigError(`--retention-hours ${flags.retentionHours}: expected a number of hours >= 0`);
        }
        const dryRun = flags.dryRun === true;
        const results = await forEachDeltaTable(pipeline, flags, "vacuum", async (engine, root, path) => {
          const result = await vacuumDelta(engine, root, { retentionHours, dryRun });
          if (!flags.json) {
            const verb = dryRun ? "would delete" : "deleted";
            process.stdout.write(
              `${path}: ${verb} ${plural(result.deleted.length, "file")} (version ${result.version})\n`,
            );
            for (const f of result.deleted) process.stdout.write(`  ${f}\n`);
          }
          return { sink: `parquet:${path}`, dry_run: dryRun, ...result };
        });
        if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        return 0;
      }),
    );
}
