import type { AlertConfig, ContractSpec } from "../config/spec.js";
import type { Engine } from "../engine/engine.js";
import { ident } from "../engine/sql.js";
import {
  COMPOSITE_HASH,
  DUPLICATE_MARK,
  LINEAGE_COLUMNS,
  PAYLOAD_HASH,
  SOURCE_POS,
  SOURCE_ROW,
} from "../engine/system-columns.js";
import type { RunMetrics, RunRecord } from "../plan/run-record.js";

/** What the metrics may use of the run (the driver's context satisfies it). */
export interface MetricsContext {
  readonly engine: Engine;
  /** The contract's `unique` columns get distinct counts. */
  readonly contract: Pick<ContractSpec, "columns"> | undefined;
  /** The stage's config slice: alerts naming `unique.COL` get distinct counts too. */
  readonly pipelineConfig: { readonly alerts: readonly Pick<AlertConfig, "metric">[] };
}

/** Columns sluice adds: no null rate for them (they are never NULL, and say nothing about the data). */
const SLUICE_COLUMNS = new Set<string>([
  SOURCE_POS,
  SOURCE_ROW,
  COMPOSITE_HASH,
  PAYLOAD_HASH,
  DUPLICATE_MARK,
  ...LINEAGE_COLUMNS,
]);

/**
 * Quality metrics of a run (SPEC section 8), computed in one SQL pass over
 * the written relation; nothing per row in JavaScript.
 *
 * - `validation_pass_rate`: valid / (valid + quarantined); 1 with no rows.
 * - `null_rate`: per data column of the written relation (what the sinks
 *   wrote: for merge/eager with a target, the whole merged dataset); lineage
 *   and hash columns skipped; {} when it has no rows. Not rounded, so a
 *   threshold like `below: 1.0` sees a single failing row in millions.
 * - `unique`: distinct non-NULL values of the contract's `unique` columns and
 *   of every column an alert names as `unique.COL`.
 * - `row_count_delta`: change of the dataset's size against the previous successful run
 *   ((dataset - previous dataset) / previous dataset); null without a previous size.
 * - `duplicate_rate`: duplicates seen / rows extracted.
 */
export async function computeMetrics(
  ctx: MetricsContext,
  relation: string,
  record: Pick<RunRecord, "rows">,
  previous: Pick<RunRecord, "rows"> | undefined,
  known: { readonly distinct?: Readonly<Record<string, number>> } = {},
): Promise<RunMetrics> {
  const columns = (await ctx.engine.columns(relation)).map((c) => c.name);
  const present = new Set(columns);
  const measured = columns.filter((c) => !SLUICE_COLUMNS.has(c));
  const wanted = new Set<string>();
  for (const [name, spec] of Object.entries(ctx.contract?.columns ?? {})) if (spec.unique) wanted.add(name);
  for (const rule of ctx.pipelineConfig.alerts) {
    const m = /^unique\.(.+)$/.exec(rule.metric ?? "");
    if (m?.[1]) wanted.add(m[1]);
  }
  // Distinct counts already taken over this same relation (the deferred contract check) are not taken again.
  const uniqueCols = [...wanted].filter((c) => present.has(c) && known.distinct?.[c] === undefined);

  const select = [
    "count(*) AS n",
    ...measured.map((c, i) => `count(${ident(c)}) AS nn${i}`),
    ...uniqueCols.map((c, i) => `count(DISTINCT ${ident(c)}) AS u${i}`),
  ];
  const row = await ctx.engine.one<Record<string, bigint | number>>(
    `SELECT ${select.join(", ")} FROM ${relation}`,
    "metrics",
  );
  const n = Number(row?.n ?? 0);
  const nullRate: Record<string, number> = {};
  if (n > 0) {
    for (const [i, c] of measured.entries()) nullRate[c] = (n - Number(row?.[`nn${i}`] ?? 0)) / n;
  }
  const unique: Record<string, number> = {};
  for (const c of wanted) if (known.distinct?.[c] !== undefined && present.has(c)) unique[c] = known.distinct[c];
  for (const [i, c] of uniqueCols.entries()) unique[c] = Number(row?.[`u${i}`] ?? 0);

  const checked = record.rows.valid + record.rows.quarantined;
  return {
    validation_pass_rate: checked === 0 ? 1 : record.rows.valid / checked,
    null_rate: nullRate,
    unique,
    row_count_delta: rowCountDelta(record, previous),
    duplicate_rate: record.rows.extracted === 0 ? 0 : record.rows.duplicates / record.rows.extracted,
  };
}

/** Relative change of the dataset's size; records from before `rows.dataset` existed count `written`. */
function rowCountDelta(record: Pick<RunRecord, "rows">, previous: Pick<RunRecord, "rows"> | undefined): number | null {
  const size = (r: Pick<RunRecord, "rows">) => (r.rows.dataset === undefined ? r.rows.written : r.rows.dataset);
  const now = size(record);
  const before = previous ? size(previous) : null;
  if (now === null || before === null || before <= 0) return null;
  return (now - before) / before;
}
