import type { DedupConfig, PipelineConfig, SluiceConfig } from "./spec.js";

/**
 * A sink's strategy: its own `dedup` (key and order_by default to the pipeline's), else the
 * pipeline's. A duckdb view without one reads the Parquet files of the parquet sink before it, so
 * it takes that sink's strategy (a view is never a table of its own).
 */
export function effectiveDedup(pipeline: PipelineConfig, index: number): DedupConfig {
  const sink = pipeline.sinks[index];
  if (!sink) return pipeline.dedup;
  const own = sink.dedup;
  if (!own && sink.type === "duckdb" && sink.mode === "view") {
    const viewed = viewedParquet(pipeline, index);
    if (viewed !== undefined) return effectiveDedup(pipeline, viewed);
  }
  if (!own) return pipeline.dedup;
  const key = own.key ?? pipeline.dedup.key;
  const order_by = own.order_by ?? pipeline.dedup.order_by;
  return { strategy: own.strategy, ...(key ? { key } : {}), ...(order_by ? { order_by } : {}) };
}

/** Two strategies that produce the same relation (every `none` is the same). */
export function sameDedup(a: DedupConfig, b: DedupConfig): boolean {
  if (a.strategy === "none" || b.strategy === "none") return a.strategy === b.strategy;
  return (
    a.strategy === b.strategy &&
    JSON.stringify(a.key ?? []) === JSON.stringify(b.key ?? []) &&
    (a.order_by ?? "") === (b.order_by ?? "")
  );
}

/** Index of the parquet sink a duckdb view at `index` reads (the last one before it). */
function viewedParquet(pipeline: PipelineConfig, index: number): number | undefined {
  for (let i = index - 1; i >= 0; i--) if (pipeline.sinks[i]?.type === "parquet") return i;
  return undefined;
}

/** Per-sink `dedup:` that cannot work: a strategy without its key or order, a view deduplicated apart from its files. */
export function dedupProblems(config: SluiceConfig): { at: PropertyKey[]; message: string }[] {
  const out: { at: PropertyKey[]; message: string }[] = [];
  for (const [name, p] of Object.entries(config.pipelines)) {
    p.sinks.forEach((sink, i) => {
      if (!sink.dedup) return;
      const at = ["pipelines", name, "sinks", i, "dedup"];
      const { strategy, key, order_by } = effectiveDedup(p, i);
      if (strategy !== "none" && !key?.length) {
        out.push({
          at,
          message: `dedup strategy \`${strategy}\` needs \`key: [column, ...]\` (here or in the pipeline's dedup)`,
        });
      }
      if (strategy === "merge" && !order_by) {
        out.push({
          at,
          message: "dedup strategy `merge` needs `order_by: column` (latest wins), here or in the pipeline's dedup",
        });
      }
      if (strategy !== "merge" && sink.dedup.order_by) {
        out.push({ at, message: `\`order_by\` orders merge's versions: strategy \`${strategy}\` does not use it` });
      }
      const viewed = sink.type === "duckdb" && sink.mode === "view" ? viewedParquet(p, i) : undefined;
      if (viewed !== undefined && !sameDedup(effectiveDedup(p, viewed), effectiveDedup(p, i))) {
        out.push({
          at,
          message: `a duckdb view reads the files of sinks[${viewed}], so it has their dedup: drop this \`dedup\`, or use \`mode: table\``,
        });
      }
    });
  }
  return out;
}
