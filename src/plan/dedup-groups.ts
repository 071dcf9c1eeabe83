import { effectiveDedup, sameDedup } from "../config/dedup-checks.js";
import type { DedupConfig, PipelineConfig, SinkConfig } from "../config/spec.js";
import type { DedupResult } from "../dedup/dedup-batch.js";
import type { Sink, SinkDedup } from "../sinks/sink.js";

/**
 * Sinks that share one dedup strategy (key and order included): they get the same relation from one
 * dedup pass, compared against their own rows (the group's target), with their own basis.
 */
export interface DedupGroup {
  readonly dedup: DedupConfig;
  /** The group's sinks, in config order. */
  readonly sinks: readonly Sink[];
  /** Their configs, same order (the staged file takes the first snapshot sink's options). */
  readonly sinkConfigs: readonly SinkConfig[];
}

/**
 * The pipeline's sinks grouped by effective strategy, groups in the order of their first sink.
 * `kept[i]` is the index in `pipeline.sinks` of `sinks[i]` (duckdb sinks may be left out).
 */
export function dedupGroups(pipeline: PipelineConfig, sinks: readonly Sink[], kept: readonly number[]): DedupGroup[] {
  const groups: { dedup: DedupConfig; sinks: Sink[]; sinkConfigs: SinkConfig[] }[] = [];
  sinks.forEach((sink, i) => {
    const index = kept[i]!;
    const dedup = effectiveDedup(pipeline, index);
    let group = groups.find((g) => sameDedup(g.dedup, dedup));
    if (!group) {
      group = { dedup, sinks: [], sinkConfigs: [] };
      groups.push(group);
    }
    group.sinks.push(sink);
    group.sinkConfigs.push(pipeline.sinks[index]!);
  });
  if (groups.length === 0) groups.push({ dedup: pipeline.dedup, sinks: [], sinkConfigs: [] });
  return groups;
}

/** The record's `outputs[].dedup` of a group's sinks, from its dedup pass. */
export function dedupReport(strategy: DedupConfig["strategy"], r: DedupResult): SinkDedup {
  const action =
    strategy === "merge"
      ? "merged"
      : strategy === "eager"
        ? "dropped"
        : strategy === "bronze_append" && r.marked !== undefined
          ? "kept_and_marked"
          : "kept";
  return {
    strategy,
    duplicates_seen: r.duplicates,
    within_batch: r.withinBatch,
    against_table: r.duplicates - r.withinBatch,
    action,
    dropped: r.dropped,
    ...(strategy === "merge" ? { merged: r.keys?.changed ?? 0 } : {}),
    ...(r.marked !== undefined ? { marked: r.marked } : {}),
    written: r.batchRows,
  };
}
