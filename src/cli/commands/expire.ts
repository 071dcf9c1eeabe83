import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { expirePipeline } from "../../runner/expire-retention.js";
import { PipelineLock } from "../../runner/pipeline-lock.js";
import { newRunId } from "../../runner/run-id.js";
import { sluiceNow } from "../../sources/sluice-now.js";
import { createLogger } from "../../util/logger.js";
import { action } from "../action.js";
import { loadFromFlags } from "../load.js";
import { plural } from "../plural.js";

interface ExpireFlags {
  config?: string;
  json?: boolean;
  dryRun?: boolean;
}

export function register(program: Command): void {
  program
    .command("expire")
    .description(
      "Apply a pipeline's retention_days now (as every successful run does): old partitions of its partitioned and Delta sinks, old snapshots.",
    )
    .argument("<pipeline>", "pipeline name from the config")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--dry-run", "list what would be removed, remove nothing")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  sluice expire events --dry-run\n  SLUICE_NOW=2026-03-01 sluice expire events")
    .action(
      action(async (pipeline: string, flags: ExpireFlags) => {
        const loaded = await loadFromFlags(flags);
        const config = loaded.config.pipelines[pipeline];
        if (!config) throw new ConfigError(`no pipeline named \`${pipeline}\` in ${loaded.path}`);
        const days = config.retention_days;
        if (days === undefined) {
          throw new ConfigError(`pipeline \`${pipeline}\` has no retention_days`, "e.g. `retention_days: 90`");
        }
        const runId = newRunId();
        const now = sluiceNow();
        const lock = PipelineLock.acquire(loaded.dataDir, pipeline, {
          run_id: runId,
          started_at: new Date().toISOString(),
          driver: "expire",
        });
        const dryRun = flags.dryRun === true;
        const log = createLogger();
        try {
          const result = await expirePipeline(config, loaded.dataDir, { days, now, runId, log, dryRun });
          if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, dry_run: dryRun }, null, 2)}\n`);
          else for (const s of result.sinks) process.stdout.write(summary(s, dryRun));
          return result.warnings.length > 0 ? 1 : 0;
        } finally {
          lock.release();
        }
      }),
    );
}

function summary(s: Awaited<ReturnType<typeof expirePipeline>>["sinks"][number], dryRun: boolean): string {
  const what = s.layout === "snapshot" ? "snapshot" : "partition";
  const head = `${s.sink}: ${dryRun ? "would remove" : "removed"} ${plural(s.removed.length, what)} older than ${s.older_than}`;
  const extra = [
    s.version !== undefined ? `Delta version ${s.version}` : "",
    s.vacuumed ? `vacuum ${dryRun ? "would delete" : "deleted"} ${plural(s.vacuumed, "file")}` : "",
    s.skipped ?? "",
  ].filter(Boolean);
  return `${head}${extra.length ? ` (${extra.join("; ")})` : ""}\n${s.removed.map((r) => `  ${r}\n`).join("")}`;
}
