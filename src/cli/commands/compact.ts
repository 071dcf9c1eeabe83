import { resolve } from "node:path";
import type { Command } from "commander";
import { Engine } from "../../engine/engine.js";
import { ConfigError } from "../../errors.js";
import { compactDelta } from "../../lake/delta/index.js";
import { PipelineLock } from "../../runner/pipeline-lock.js";
import { newRunId } from "../../runner/run-id.js";
import { action } from "../action.js";
import { loadFromFlags } from "../load.js";
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
        const loaded = await loadFromFlags(flags);
        const p = loaded.config.pipelines[pipeline];
        if (!p) throw new ConfigError(`no pipeline named \`${pipeline}\` in ${loaded.path}`);
        const tables = p.sinks.filter((s) => s.type === "parquet" && s.format === "delta");
        if (tables.length === 0) {
          throw new ConfigError(
            `pipeline \`${pipeline}\` has no Delta table to compact`,
            "compact works on parquet sinks with `format: delta`",
          );
        }
        const minFiles = Number(flags.minFiles);
        if (!Number.isInteger(minFiles) || minFiles < 2)
          throw new ConfigError(`--min-files ${flags.minFiles}: expected a whole number >= 2`);
        const runId = newRunId();
        // The pipeline's lock: compaction never races a run's replace of the same files.
        const lock = PipelineLock.acquire(loaded.dataDir, pipeline, {
          run_id: runId,
          started_at: new Date().toISOString(),
          driver: "compact",
        });
        const engine = await Engine.open();
        try {
          const results = [];
          for (const sink of tables) {
            if (sink.type !== "parquet") continue;
            const result = await compactDelta(engine, resolve(loaded.dataDir, sink.path), { minFiles, runId });
            results.push({ sink: `parquet:${sink.path}`, ...result });
            if (!flags.json) {
              process.stdout.write(
                result.filesRemoved === 0
                  ? `${sink.path}: nothing to compact (version ${result.version})\n`
                  : `${sink.path}: ${plural(result.filesRemoved, "file")} in ${plural(result.partitions, "partition")} -> ${plural(result.filesAdded, "file")} (version ${result.version})\n`,
              );
            }
          }
          if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
          return 0;
        } finally {
          engine.close();
          lock.release();
        }
      }),
    );
}
