import type { DeltaBasis, Sink } from "../sinks/sink.js";
import type { ExtractResult } from "../sources/source.js";
import type { RunContext } from "./batch-context.js";
import type { DedupGroup } from "./dedup-groups.js";

/** What dedup compares a batch against. */
export interface DedupTarget {
  /** FROM-expression of the target's rows (all, or with `delta` those of the batch's keys). */
  readonly existing?: string;
  /** Every sink applies changes in place: dedup hands them only what changed, against `basis`. */
  readonly delta: boolean;
  readonly basis?: DeltaBasis;
}

/**
 * Picks the sink whose rows merge/eager/bronze_append compare the batch against, and reads them:
 * one of `group`'s sinks (those sharing the strategy), never another strategy's table.
 *
 * Only strategies that compare read a target; a window or full export (`complete`) is the dataset
 * as the source holds it: dedup within the batch. When every sink is incremental (Delta tables,
 * warehouse tables and views), the target is the first sink that does not hold the batch yet (a
 * retry after a partial commit compares against a sink that still lacks it), only its rows with
 * the batch's keys are read, and its last batch becomes the `basis` the other sinks check theirs
 * against. Otherwise the first sink with rows is read whole and every sink gets the whole dataset.
 */
export async function dedupTarget(
  ctx: RunContext,
  group: Pick<DedupGroup, "dedup" | "sinks">,
  input: Pick<ExtractResult, "complete">,
  relation: string,
): Promise<DedupTarget> {
  const { dedup } = group;
  const candidates = group.sinks.filter((s) => s.existing);
  const delta = group.sinks.every((s) => s.incremental);
  if (dedup.strategy === "none" || input.complete || candidates.length === 0) return { delta };
  if (!delta) {
    const existing = await candidates[0]!.existing!(ctx);
    return { delta, ...(existing ? { existing } : {}) };
  }
  const target = (await firstNotHolding(ctx, candidates)) ?? candidates[0]!;
  const existing = await target.existing!(ctx, { relation, key: dedup.key ?? [] });
  const basis: DeltaBasis = {
    sink: target.name,
    head: await target.head?.(ctx),
    full: () => target.existing!(ctx),
  };
  return { delta, basis, ...(existing ? { existing } : {}) };
}

async function firstNotHolding(ctx: RunContext, sinks: readonly Sink[]): Promise<Sink | undefined> {
  for (const sink of sinks) if (!(await sink.holds(ctx, ctx.batchId))) return sink;
  return undefined;
}
