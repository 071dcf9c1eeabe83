import type { SluiceConfig } from "./spec.js";

/**
 * A `format: delta` sink needs the partitioned layout (a Delta table is a partitioned folder with a
 * log); a NATS source with `partitions` needs the `subject` its partition subjects extend.
 */
export function lakeProblems(config: SluiceConfig): { at: PropertyKey[]; message: string }[] {
  const out: { at: PropertyKey[]; message: string }[] = [];
  for (const [name, p] of Object.entries(config.pipelines)) {
    if (p.source.type === "nats" && p.source.partitions > 1 && !p.source.subject) {
      out.push({
        at: ["pipelines", name, "source", "partitions"],
        message:
          "`partitions` needs `subject:` (the partitions are `<subject>.0` .. `<subject>.<N-1>`, as `sluice produce --to nats://host/<subject>?partitions=N` publishes them)",
      });
    }
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
