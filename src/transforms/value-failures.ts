import { ident } from "../engine/sql.js";
import { failMarker } from "../engine/system-columns.js";
import type { TransformContext } from "./transform.js";

/** One column's conversion in a step: the SQL condition under which a value failed and what to report. */
export interface ValueCheck {
  readonly column: string;
  /** True on rows whose value could not be converted (evaluated over the step's input). */
  readonly failed: string;
  /** The value to report for a failed row, as VARCHAR. */
  readonly value: string;
}

/**
 * True when value failures become fail markers for the contract stage: a
 * contract is configured and validation is not "off" (the contract stage
 * reads markers only then). Otherwise conversion failures are counted and
 * logged, and `map` flags unmapped values instead of quarantining them.
 */
export function marksFailures(ctx: TransformContext): boolean {
  return ctx.contract !== undefined && ctx.pipelineConfig.validation !== "off";
}

/**
 * Select-list items adding a `_fail:type:<column>` marker per check (when
 * marksFailures), else [] after logging how many values of each column did
 * not convert and became NULL (one scan of `input`).
 */
export async function handleFailures(
  ctx: TransformContext,
  input: string,
  checks: readonly ValueCheck[],
  step: string,
): Promise<string[]> {
  if (checks.length === 0) return [];
  if (marksFailures(ctx)) {
    return checks.map(
      (c) => `CASE WHEN ${c.failed} THEN ${c.value} ELSE NULL END AS ${ident(failMarker("type", c.column))}`,
    );
  }
  const counts = checks.map((c, i) => `count(*) FILTER (WHERE ${c.failed}) AS f${i}`).join(", ");
  const row = await ctx.engine.one<Record<string, bigint | number>>(`SELECT ${counts} FROM ${input}`, "transform");
  checks.forEach((c, i) => {
    const n = Number(row?.[`f${i}`] ?? 0);
    if (n > 0) {
      ctx.log.warn(
        `${step}: ${n} value(s) of \`${c.column}\` could not be converted and became NULL (configure a contract to quarantine them)`,
      );
    }
  });
  return [];
}
