import type { Command } from "commander";
import { formatFailures, listQuarantine } from "../../contracts/list-quarantine.js";
import { ConfigError } from "../../errors.js";
import { Ledger } from "../../runner/ledger.js";
import { action } from "../action.js";
import { formatRows } from "../format-rows.js";
import { loadFromFlags } from "../load.js";
import { plural } from "../plural.js";

interface QuarantineFlags {
  config?: string;
  run?: string;
  json?: boolean;
  limit: string;
}

export function register(program: Command): void {
  program
    .command("quarantine")
    .description("List a pipeline's quarantined rows with the rules they broke.")
    .argument("<pipeline>", "pipeline name from the config")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--run <run_id>", "only the rows quarantined by this run")
    .option("--json", "print the rows as JSON ({ total, runs, rows: [{ run_id, source_pos, failures, row, raw }] })")
    .option("--limit <n>", "show at most N rows", "50")
    .addHelpText(
      "after",
      "\nExamples:\n  sluice quarantine behavioral_events\n  sluice quarantine behavioral_events --run 20260301T020000Z_3fa9c1 --json --limit 1000\n  sluice replay behavioral_events --run 20260301T020000Z_3fa9c1",
    )
    .action(
      action(async (pipeline: string, flags: QuarantineFlags) => {
        const limit = Number(flags.limit);
        if (!Number.isInteger(limit) || limit < 0)
          throw new ConfigError(`--limit ${flags.limit}: expected a whole number >= 0`);
        const loaded = await loadFromFlags(flags, { readOnly: true });
        if (!loaded.config.pipelines[pipeline]) {
          throw new ConfigError(
            `no pipeline named \`${pipeline}\` in ${loaded.path}`,
            `pipelines defined: ${Object.keys(loaded.config.pipelines).join(", ") || "none"}`,
          );
        }
        const ledger = new Ledger(loaded.dataDir);
        const listing = await listQuarantine(loaded.dataDir, pipeline, {
          ...(flags.run ? { runId: flags.run } : {}),
          limit,
          committed: (runId) => ledger.has(pipeline, runId),
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
          return 0;
        }
        if (listing.total === 0) {
          process.stdout.write(`no quarantined rows for ${pipeline}\n`);
          return 0;
        }
        const table = listing.rows.map((r) => ({
          run_id: r.run_id,
          source_pos: r.source_pos,
          reasons: formatFailures(r.failures),
          row: r.raw ?? JSON.stringify(r.row),
        }));
        process.stdout.write(formatRows(table, "table"));
        const runs = flags.run ? `run ${flags.run}` : plural(listing.runs.length, "run");
        process.stdout.write(
          `${plural(listing.total, "quarantined row")} of ${pipeline} in ${runs}${listing.rows.length < listing.total ? `; showing the first ${listing.rows.length} (--limit)` : ""}\n`,
        );
        if (listing.runs.length)
          process.stdout.write(`replay with: sluice replay ${pipeline} --run ${flags.run ?? listing.runs.at(-1)}\n`);
        return 0;
      }),
    );
}
