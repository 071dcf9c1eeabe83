import type { SluiceConfig } from "./spec.js";

/** A `format: delta` sink needs the partitioned layout (a Delta table is a partitioned folder with a log). */
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
    });
  }
  return out;
}
