import type { SluiceConfig } from "./spec.js";

/**
 * What a `format: delta` sink supports in this version: the partitioned layout, and dedup `none`
 * (appends and replaces, each one commit, exactly once through the log's txn actions). Merge, eager
 * and bronze_append compare against the target, which a Delta table cannot offer yet.
 */
export function lakeProblems(config: SluiceConfig): { at: PropertyKey[]; message: string }[] {
  const out: { at: PropertyKey[]; message: string }[] = [];
  for (const [name, p] of Object.entries(config.pipelines)) {
    p.sinks.forEach((sink, i) => {
      if (sink.type !== "parquet" || sink.format !== "delta") return;
      if (sink.layout !== "partitioned") {
        out.push({
          at: ["pipelines", name, "sinks", i, "format"],
          message: "`format: delta` needs `layout: partitioned` (a Delta table is a partitioned folder with a log)",
        });
      }
      if (p.dedup.strategy !== "none") {
        out.push({
          at: ["pipelines", name, "dedup", "strategy"],
          message: `dedup \`${p.dedup.strategy}\` into a \`format: delta\` sink is not available in this version of sluice (planned: merge by the files a batch's keys touch); use dedup none, or \`format: parquet\``,
        });
      }
    });
  }
  return out;
}
