import { accessSync, constants, mkdirSync } from "node:fs";
import type { Command } from "commander";
import { createSource } from "../../sources/registry.js";
import { createLogger } from "../../util/logger.js";
import { redactSecrets } from "../../util/redact.js";
import { action, collect } from "../action.js";
import { checkColumns } from "../check-columns.js";
import { loadFromFlags } from "../load.js";
import { plural } from "../plural.js";

export function register(program: Command): void {
  program
    .command("check")
    .description("Validate the config and test every connection and input.")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--set <key.path=value>", "override a config value (repeatable)", collect)
    .addHelpText("after", "\nExample:\n  sluice check -c examples/behavioral-events/sluice.yaml")
    .action(
      action(async (flags: { config?: string; set?: string[] }) => {
        const loaded = await loadFromFlags(flags);
        const log = createLogger();
        process.stdout.write(
          `config ${loaded.path}: ok (${plural(Object.keys(loaded.config.pipelines).length, "pipeline")})\n`,
        );
        let failed = 0;
        const columnProblems: string[] = [];
        try {
          mkdirSync(loaded.dataDir, { recursive: true });
          accessSync(loaded.dataDir, constants.W_OK);
          process.stdout.write(`data_dir ${loaded.dataDir}: writable\n`);
        } catch (err) {
          failed++;
          process.stdout.write(`data_dir ${loaded.dataDir}: NOT writable (${(err as Error).message})\n`);
        }
        for (const [name, p] of Object.entries(loaded.config.pipelines)) {
          if (p.schedule) process.stdout.write(`${name}: ${scheduleNote(name, p.schedule)}\n`);
          const source = createSource(p.source);
          const columns = await checkColumns(name, p, source, { configDir: loaded.dir, log });
          columnProblems.push(...columns.problems);
          if (columns.skipped) process.stdout.write(`${name}: column names not checked: ${columns.skipped}\n`);
          if (!source.check) {
            process.stdout.write(`${name}: source ${p.source.type}: nothing to check\n`);
            continue;
          }
          try {
            const info = await source.check({ configDir: loaded.dir, dataDir: loaded.dataDir, log });
            process.stdout.write(`${name}: source ${p.source.type}: ok, ${redactSecrets(info)}\n`);
          } catch (err) {
            failed++;
            const e = err as Error & { hint?: string };
            process.stdout.write(
              `${name}: source ${p.source.type}: FAILED: ${redactSecrets(e.message)}${e.hint ? `\n  hint: ${redactSecrets(e.hint)}` : ""}\n`,
            );
          }
        }
        for (const problem of columnProblems) process.stderr.write(`error: ${problem}\n`);
        // A name the batch will not have is a config error (2); a connection that fails is 1.
        return columnProblems.length ? 2 : failed ? 1 : 0;
      }),
    );
}

/** `schedule:` is validated, but nothing in this version runs it: say so rather than imply a scheduler. */
function scheduleNote(name: string, schedule: string): string {
  return (
    `schedule ${JSON.stringify(schedule)} is valid, but scheduling is not available in this version of sluice ` +
    `(planned: sluice serve); run \`sluice run ${name}\` from cron or CI`
  );
}
