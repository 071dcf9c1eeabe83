import type { PipelineConfig } from "../../config/spec.js";

/** Sources `sluice stream` reads: their pipelines run as supervised workers, not on a schedule. */
const STREAM_SOURCES: ReadonlySet<string> = new Set(["nats", "redis_stream", "pubsub"]);

/** Whether `sluice serve` runs the pipeline as a stream worker (else as batch runs). */
export function pipelineKind(pipeline: PipelineConfig): "batch" | "stream" {
  return STREAM_SOURCES.has(pipeline.source.type) ? "stream" : "batch";
}
