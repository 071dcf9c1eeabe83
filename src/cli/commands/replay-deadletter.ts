import { replayDeadLetters } from "../../runner/dead-letters.js";
import { createLogger } from "../../util/logger.js";
import { Progress } from "../../util/progress.js";
import { loadFromFlags } from "../load.js";
import { plural } from "../plural.js";
import { formatSummary } from "../summary.js";

interface Flags {
  config?: string;
  deadletter?: string | boolean;
  json?: boolean;
  syncDuckdb?: boolean;
  skipTransforms?: boolean;
}

/**
 * `sluice replay PIPELINE --deadletter [FILE]` (the replay command hands over): one run per file,
 * its summary (or with --json the records as a JSON array), and where each replayed file went.
 * Exit 0 when every file was replayed (none is fine), 1 when a run failed.
 */
export async function replayDeadLetterFiles(pipeline: string, flags: Flags): Promise<number> {
  const loaded = await loadFromFlags(flags);
  const progress = new Progress(process.stderr.isTTY === true && !flags.json);
  const file = typeof flags.deadletter === "string" ? flags.deadletter : undefined;
  const results = await replayDeadLetters(loaded, pipeline, file, {
    log: createLogger(),
    progress,
    ...(flags.syncDuckdb === false ? { syncDuckdb: false } : {}),
    ...(flags.skipTransforms ? { skipTransforms: true } : {}),
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else if (results.length === 0) {
    process.stdout.write(`no dead letters to replay for ${pipeline}\n`);
  } else {
    for (const r of results) {
      process.stdout.write(formatSummary(r.record));
      if (r.movedTo) {
        process.stdout.write(
          `  replayed ${plural(r.record.rows.extracted, "dead letter")} of ${r.file}: ${r.record.rows.valid} valid, ${r.record.rows.quarantined} quarantined; moved to ${r.movedTo}\n`,
        );
      } else {
        process.stdout.write(`  ${r.file} stays in deadletter/${pipeline}/ (the replay failed)\n`);
      }
    }
  }
  return results.every((r) => r.record.status === "succeeded") ? 0 : 1;
}
