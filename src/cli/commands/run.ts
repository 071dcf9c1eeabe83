import type { Command } from "commander";
import type { LoadedConfig } from "../../config/load-config.js";
import { daysSpec } from "../../config/spec.js";
import { ConfigError } from "../../errors.js";
import type { RunOptions } from "../../plan/batch-context.js";
import type { RunRecord } from "../../plan/run-record.js";
import { runPipeline } from "../../runner/run-pipeline.js";
import { createLogger } from "../../util/logger.js";
import { Progress } from "../../util/progress.js";
import { action, collect } from "../action.js";
import { loadFromFlags } from "../load.js";
import { formatSummary } from "../summary.js";

interface RunFlags {
  config?: string;
  set?: string[];
  json?: boolean;
  days?: string;
  full?: boolean;
  incremental?: boolean;
  userId?: string;
  validate?: boolean;
  nonStrict?: boolean;
  syncDuckdb?: boolean;
}

export function register(program: Command): void {
  program
    .command("run")
    .description("Run pipelines once (all of them when none is named).")
    .argument("[pipelines...]", "pipeline names from the config")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--set <key.path=value>", "override a config value (repeatable)", collect)
    .option("--json", "print the run record as JSON on stdout (logs stay on stderr)")
    .option("--days <n>", "window mode: export the last N days")
    .option("--full", "export everything (mode: full)")
    .option("--incremental", "export only what changed since the last run (mode: incremental)")
    .option("--user-id <id>", "export one user's history")
    .option("--no-validate", "skip the contract (validation: off)")
    .option("--non-strict", "quarantine failing rows instead of failing (validation: quarantine)")
    .option("--sync-duckdb", "sync the DuckDB warehouse (default)")
    .option("--no-sync-duckdb", "skip DuckDB sinks for this run")
    .addHelpText(
      "after",
      "\nExamples:\n  sluice run behavioral_events --days 7 --non-strict\n  sluice run --json -c sluice.yaml > run.json",
    )
    .action(
      action(async (names: string[], flags: RunFlags) => {
        const loaded = await loadFromFlags(flags);
        const pipelines = names.length ? names : Object.keys(loaded.config.pipelines);
        for (const name of pipelines) {
          if (!loaded.config.pipelines[name]) {
            throw new ConfigError(
              `no pipeline named \`${name}\` in ${loaded.path}`,
              `pipelines defined: ${Object.keys(loaded.config.pipelines).join(", ")}`,
            );
          }
        }
        const effective = applyValidationFlags(loaded, pipelines, flags);
        const options: RunOptions = {
          ...(flags.days !== undefined ? { days: parseDays(flags.days) } : {}),
          ...(flags.full ? { full: true } : {}),
          ...(flags.incremental ? { incremental: true } : {}),
          ...(flags.userId ? { userId: flags.userId } : {}),
          ...(flags.syncDuckdb === false ? { syncDuckdb: false } : {}),
        };
        const log = createLogger();
        const records: RunRecord[] = [];
        for (const name of pipelines) {
          const progress = new Progress(process.stderr.isTTY === true && !flags.json);
          const record = await runPipeline(effective, name, { ...options, ...servedBy(), log, progress });
          records.push(record);
          if (!flags.json) process.stdout.write(formatSummary(record));
        }
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(records.length === 1 ? records[0] : records, null, 2)}\n`);
        }
        if (records.some((r) => r.status === "failed")) return 1;
        if (records.some((r) => r.status === "validation_failed")) return 3;
        return 0;
      }),
    );
}

/**
 * A run `sluice serve` started (its child process): SLUICE_SERVE_TRIGGER names why, and the lock says
 * driver `serve` with that trigger (so a refused `sluice run` names who runs the pipeline).
 */
function servedBy(): { driver?: string; trigger?: string } {
  const trigger = process.env.SLUICE_SERVE_TRIGGER;
  return trigger ? { driver: "serve", trigger } : {};
}

/** `--days N`: checked like `days` in the config (a whole number from 1 to MAX_DAYS). */
function parseDays(value: string): number {
  const parsed = daysSpec.safeParse(value.trim() === "" ? Number.NaN : Number(value));
  if (!parsed.success) throw new ConfigError(`--days ${value}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** `--no-validate` and `--non-strict` override the named pipelines' validation mode for this run. */
function applyValidationFlags(loaded: LoadedConfig, names: readonly string[], flags: RunFlags): LoadedConfig {
  const mode = flags.validate === false ? "off" : flags.nonStrict ? "quarantine" : undefined;
  if (!mode) return loaded;
  const pipelines = { ...loaded.config.pipelines };
  for (const n of names) pipelines[n] = { ...pipelines[n]!, validation: mode };
  return { ...loaded, config: { ...loaded.config, pipelines } };
}
