import type { GenerationPlan } from "./generation-plan.js";
import { hashSql, unitSql } from "./sql-random.js";

/**
 * The frame every dataset is built on, shared so that chaos means the same
 * thing everywhere.
 *
 * Position `_i` (0-based, the output order) shows record `src`. Without
 * duplicates `src = _i`. With `dup_rate` r, an odd position is, with
 * probability 2r, a copy of a record shown at an even position up to 128
 * rows earlier; even positions are never copies, so every copied record also
 * appears as itself and `count(*) - count(DISTINCT key)` is exactly the number
 * of copies (about r * rows). Every value of a record is a function of `src`
 * alone, so a copy repeats its original (the generators may vary a version
 * column such as updatedAt, and say so).
 */
export function frameSql(plan: GenerationPlan, positions: string): string {
  const { seed } = plan;
  const dup = plan.chaos.dupRate;
  const src =
    dup > 0
      ? `CASE WHEN range % 2 = 1 AND ${unitSql(hashSql("range", seed, 901))} < ${2 * dup} ` +
        `THEN range - 1 - 2 * (${hashSql("range", seed, 902)} % least((range + 1) // 2, 64)::UBIGINT)::BIGINT ELSE range END`
      : "range";
  return `SELECT range AS _i, ${src} AS src FROM ${positions}`;
}

/**
 * The relation of positions to generate from: `range` BIGINT 0..rows-1 in
 * order. A table scans in parallel (DuckDB's `range()` runs on one thread)
 * and keeps its order through the join-free generator SQL.
 */
export function positionsSql(rows: number): string {
  return `SELECT range FROM range(${rows})`;
}

/** TRUE where position `_i` is a copy of an earlier record (SQL over the frame). */
export function isCopySql(): string {
  return "(_i <> src)";
}

/**
 * Integer SQL expression over `src`: -1 for a valid record, else which of
 * `kinds` contract breaks the record carries (0-based), for `invalid_rate`.
 */
export function invalidKindSql(plan: GenerationPlan, kinds: number): string {
  const rate = plan.chaos.invalidRate;
  if (rate <= 0) return "-1";
  return `CASE WHEN ${unitSql(hashSql("src", plan.seed, 904))} < ${rate} THEN ${hashSql("src", plan.seed, 905)} % ${kinds} ELSE -1 END::INTEGER`;
}

/**
 * BIGINT milliseconds by which a record's timestamp precedes the time its
 * position implies (0 for most records): late arrivals for `out_of_order_rate`,
 * between 1 minute and 6 hours late, so they land among rows of an earlier
 * time and out of timestamp order.
 */
export function latenessMsSql(plan: GenerationPlan): string {
  const rate = plan.chaos.outOfOrderRate;
  if (rate <= 0) return "0::BIGINT";
  const u = unitSql(hashSql("src", plan.seed, 906));
  return `CASE WHEN ${unitSql(hashSql("src", plan.seed, 903))} < ${rate} THEN (60000 + ${u} * ${u} * 21540000)::BIGINT ELSE 0::BIGINT END`;
}

/**
 * `expr` with NULLs injected at the column's `missing_rate` (a function of
 * `src`, so copies share them). `salt` tells columns apart.
 */
export function withMissingSql(plan: GenerationPlan, column: string, expr: string, salt: number): string {
  const rate = plan.chaos.missing[column];
  if (!rate) return expr;
  return `CASE WHEN ${unitSql(hashSql("src", plan.seed, 1000 + salt))} < ${rate} THEN NULL ELSE ${expr} END`;
}

/**
 * Fraction of the window ([0, 1)) at which record `src` happened, before the
 * daily cycle: rows are evenly spread over positions with +-10 % jitter of a
 * slot (small, so consecutive timestamps delta-encode in few bits), and the rate grows by half over the window (more users later).
 */
export function tauSql(plan: GenerationPlan, jitterSalt: number): string {
  const x = `((src::DOUBLE + 0.4 + 0.2 * ${unitSql(hashSql("src", plan.seed, jitterSalt))}) / ${Math.max(plan.rows, 1)})`;
  return tauAtSql(x);
}

/** The growth warp alone, for an arbitrary position fraction `x` in [0, 1). */
export function tauAtSql(x: string): string {
  // Inverse CDF of a rate growing linearly from 1 to 1.5 over the window.
  return `((sqrt(1 + 1.25 * ${x}) - 1) * 2)`;
}

/**
 * Epoch-ms BIGINT of window fraction `tau`, with a daily cycle (four times
 * as many events at 14:00 UTC as at 02:00). Always in [anchor - days, anchor):
 * never after the anchor, so never in the future when the anchor is not.
 */
export function msAtSql(plan: GenerationPlan, tau: string): string {
  const day = 86_400_000;
  const start = plan.anchorMs - plan.spanMs;
  const cycles = plan.spanMs / day;
  const amplitude = 0.6;
  const phase = (2 * Math.PI * (((start % day) + day - 14 * 3_600_000) % day)) / day;
  const k = 2 * Math.PI * cycles;
  const warped = `(${tau} - ${amplitude / k} * (sin(${k} * ${tau} + ${phase}) - ${Math.sin(phase)}))`;
  return `(${start}::BIGINT + least(${plan.spanMs - 1}, greatest(0, floor(${plan.spanMs} * ${warped})))::BIGINT)`;
}

/** TIMESTAMPTZ from an epoch-ms BIGINT expression (exact to the millisecond). */
export function timestampSql(ms: string): string {
  return `to_timestamp((${ms}) / 1000.0)`;
}
