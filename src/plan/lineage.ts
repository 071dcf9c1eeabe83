import { literal } from "../engine/sql.js";
import { LINEAGE_COLUMNS } from "../engine/system-columns.js";
import type { RunContext } from "./batch-context.js";

/**
 * SELECT list that adds the lineage columns to `*`, in SQL: no row passes
 * through JavaScript. Existing lineage columns (rows merged from the
 * target) keep their values, so a row's lineage names the run that wrote it.
 */
export function lineageSelect(ctx: RunContext, existingColumns: readonly string[]): string {
  const has = new Set(existingColumns);
  const values: Record<(typeof LINEAGE_COLUMNS)[number], string> = {
    _run_id: `${literal(ctx.runId)}::VARCHAR`,
    _batch_id: `${literal(ctx.batchId)}::VARCHAR`,
    _processing_type: `${literal(ctx.processingType)}::VARCHAR`,
    _ingested_at: `${literal(ctx.startedAt.toISOString())}::TIMESTAMPTZ`,
  };
  const parts = LINEAGE_COLUMNS.map((c) =>
    has.has(c) ? `coalesce("${c}", ${values[c]}) AS "${c}"` : `${values[c]} AS "${c}"`,
  );
  if (existingColumns.length === 0) return parts.join(", ");
  const keep = existingColumns.some((c) => (LINEAGE_COLUMNS as readonly string[]).includes(c))
    ? `* EXCLUDE (${LINEAGE_COLUMNS.filter((c) => has.has(c))
        .map((c) => `"${c}"`)
        .join(", ")})`
    : "*";
  return `${keep}, ${parts.join(", ")}`;
}
