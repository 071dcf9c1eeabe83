import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { literal } from "../engine/sql.js";
import { publish, removeQuietly } from "../util/atomic.js";
import type { ContractContext } from "./contract-context.js";
import { naturalOrder } from "./quarantine-file.js";

/**
 * Writes the batch's quarantined rows (failing rows of `failing`, unparseable records of `unp`) as
 * one Parquet file in the run's scratch folder and returns its path. Nothing is visible in
 * `quarantine/` yet: a run that dies or fails before its commit leaves no quarantine file for
 * `sluice quarantine` to count or `sluice replay` to write twice (the scratch folder is swept).
 */
export async function stageQuarantine(
  ctx: Pick<ContractContext, "runId" | "scratchDir" | "tmpName" | "engine">,
  failing: string | undefined,
  unp: { relation: string } | undefined,
  rawText: string,
): Promise<string> {
  const runId = literal(ctx.runId);
  const parts: string[] = [];
  if (failing) {
    parts.push(
      `SELECT * EXCLUDE (__sluice_row, __sluice_key), NULL::VARCHAR AS _raw, ${runId} AS _run_id, now() AS _quarantined_at FROM ${failing}`,
    );
  }
  if (unp) {
    parts.push(
      `SELECT _source_pos::VARCHAR AS _source_pos, ${rawText} AS _raw, [{'column': NULL::VARCHAR, 'rule': 'unparseable', 'value': ${rawText}, 'detail': _error::VARCHAR}] AS _failures, ${runId} AS _run_id, now() AS _quarantined_at FROM ${unp.relation}`,
    );
  }
  mkdirSync(ctx.scratchDir, { recursive: true });
  const staged = join(ctx.scratchDir, `quarantine-${ctx.tmpName("q")}.parquet`);
  await ctx.engine.run(
    `COPY (SELECT * FROM (${parts.join(" UNION ALL BY NAME ")}) ORDER BY ${naturalOrder("_source_pos")}) TO ${literal(staged)} (FORMAT parquet, COMPRESSION zstd)`,
    "quarantine",
  );
  return staged;
}

/**
 * Makes a staged quarantine file visible at `target` in one rename (the scratch folder is on the
 * lake's file system), or, with no staged file, removes `target` when `replace` says the batch
 * stands for it (a replay whose every row passed). Called by the runner once every sink holds the
 * batch.
 */
export function publishQuarantine(staged: string | undefined, target: string, replace = false): void {
  if (staged) {
    mkdirSync(dirname(target), { recursive: true });
    publish(staged, target);
  } else if (replace && existsSync(target)) {
    removeQuietly(target);
  }
}
