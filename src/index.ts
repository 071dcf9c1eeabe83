/**
 * sluice's typed library API. The CLI is a thin layer over these functions.
 *
 * ```ts
 * import { defineConfig, definePipeline, runPipeline, validateConfigObject } from "sluice";
 * const events = definePipeline({ source: { type: "generate", dataset: "behavioral_events", rows: 1000 },
 *   validation: "off", sinks: [{ type: "parquet", path: "raw/behavioral_events" }] });
 * export default defineConfig({ pipelines: { events } });
 * ```
 */
import type { PipelineInput, SluiceConfigInput } from "./config/spec.js";

export type { LoadedConfig, LoadOptions } from "./config/load-config.js";
export { findConfigFile, loadConfig, loadConfigText, validateConfigObject } from "./config/load-config.js";
export type * from "./config/spec.js";
export { configSpec, pipelineSpec } from "./config/spec.js";
export { Engine, type EngineOptions } from "./engine/engine.js";
export { ConfigError, SluiceError, ValidationFailedError } from "./errors.js";
export type { RunContext, RunOptions } from "./plan/batch-context.js";
export type { FiredAlert, RunMetrics, RunRecord, RunStatus } from "./plan/run-record.js";
export { Ledger } from "./runner/ledger.js";
export { type RunPipelineOptions, runPipeline } from "./runner/run-pipeline.js";
export type { Sink, SinkOutput } from "./sinks/sink.js";
export type { ExtractResult, Source } from "./sources/source.js";

/**
 * Declares a pipeline with full types. The object is checked by the same
 * spec as YAML when the config is loaded (`validateConfigObject`).
 */
export function definePipeline<const P extends PipelineInput>(pipeline: P): P {
  return pipeline;
}

/** Declares a whole config (the default export of sluice.config.ts). */
export function defineConfig<const C extends SluiceConfigInput>(config: C): C {
  return config;
}
