import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { listDeadLetters } from "../../runner/dead-letters.js";
import { action } from "../action.js";
import { formatRows } from "../format-rows.js";
import { loadFromFlags } from "../load.js";
import { plural } from "../plural.js";

interface DeadLetterFlags {
  config?: string;
  json?: boolean;
  rows: string;
}

export function register(program: Command): void {
  program
    .command("deadletter")
    .description(
      "List a pipeline's dead letters (deadletter/<pipeline>/*.parquet): records a stream or the plan could not process, with their errors.",
    )
    .argument("<pipeline>", "pipeline name from the config")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option(
      "--json",
      "print JSON: { pipeline, total, files: [{ file, batch, kind, rows, errors: [{ error, stage?, count }], time, sample? }] }",
    )
    .option("--rows <n>", "also show up to N records of each file with their error", "0")
    .addHelpText(
      "after",
      "\nExamples:\n  sluice deadletter events\n  sluice deadletter events --rows 5\n  sluice replay events --deadletter            # every file\n  sluice replay events --deadletter events-12-40.parquet",
    )
    .action(
      action(async (pipeline: string, flags: DeadLetterFlags) => {
        const rows = Number(flags.rows);
        if (!Number.isInteger(rows) || rows < 0)
          throw new ConfigError(`--rows ${flags.rows}: expected a whole number >= 0`);
        const loaded = await loadFromFlags(flags, { readOnly: true });
        if (!loaded.config.pipelines[pipeline]) {
          throw new ConfigError(
            `no pipeline named \`${pipeline}\` in ${loaded.path}`,
            `pipelines defined: ${Object.keys(loaded.config.pipelines).join(", ") || "none"}`,
          );
        }
        const files = await listDeadLetters(loaded.dataDir, pipeline, rows);
        const total = files.reduce((n, f) => n + f.rows, 0);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ pipeline, total, files }, null, 2)}\n`);
          return 0;
        }
        if (files.length === 0) {
          process.stdout.write(`no dead letters for ${pipeline}\n`);
          return 0;
        }
        const table = files.map((f) => ({
          file: f.file,
          kind: f.kind,
          rows: f.rows,
          time: f.time,
          errors: f.errors.map((e) => `${e.count} x ${e.stage ? `[${e.stage}] ` : ""}${oneLine(e.error)}`).join("; "),
        }));
        process.stdout.write(formatRows(table, "table"));
        for (const f of files.filter((x) => x.sample?.length)) {
          process.stdout.write(`\n${f.file}:\n`);
          const sample = f.sample!.map((s) => ({
            source_pos: s.source_pos ?? "",
            error: oneLine(s.error),
            record: s.record,
          }));
          process.stdout.write(formatRows(sample, "table"));
        }
        process.stdout.write(
          `${plural(total, "dead letter")} of ${pipeline} in ${plural(files.length, "file")}\nreplay with: sluice replay ${pipeline} --deadletter [FILE]\n`,
        );
        return 0;
      }),
    );
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
