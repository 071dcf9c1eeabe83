import { effectiveDedup } from "../config/dedup-checks.js";
import type { ContractSpec, PipelineConfig, SluiceConfig } from "../config/spec.js";
import { readHintsFor } from "../contracts/read-hints.js";
import { ConfigError } from "../errors.js";
import { createSink } from "../sinks/registry.js";
import type { Sink } from "../sinks/sink.js";
import type { ReadHints } from "../sources/source.js";
import { type DedupGroup, dedupGroups } from "./dedup-groups.js";

/**
 * A pipeline compiled for running batches: everything between a loaded batch and its committed
 * outputs (transforms, contract, validation mode, dedup, sinks). Built once per driver: `sluice
 * run` per run, a stream worker once for all its micro-batches. Holds no engine and no state.
 */
export interface BatchPlan {
  readonly pipeline: string;
  readonly config: PipelineConfig;
  /** The resolved contract (named or inline), if any. */
  readonly contract: ContractSpec | undefined;
  /** The sinks in config order (duckdb sinks left out with `syncDuckdb: false`). */
  readonly sinks: readonly Sink[];
  /** The sinks grouped by dedup strategy (a sink's own `dedup`, else the pipeline's): one dedup pass per group. */
  readonly groups: readonly DedupGroup[];
  /** What the source needs to know of the stages after it (SourceContext.readHints). */
  readonly readHints: ReadHints;
}

export interface PlanOptions {
  /** false: leave the duckdb sinks out (`--no-sync-duckdb`). */
  readonly syncDuckdb?: boolean;
}

/** Compiles pipeline `pipeline` of `config` (ConfigError, exit 2, for an unknown name). */
export function compilePlan(config: SluiceConfig, pipeline: string, options: PlanOptions = {}): BatchPlan {
  const pipelineConfig = config.pipelines[pipeline];
  if (!pipelineConfig) {
    throw new ConfigError(
      `no pipeline named \`${pipeline}\``,
      `pipelines defined: ${Object.keys(config.pipelines).join(", ") || "none"}`,
    );
  }
  const contract =
    typeof pipelineConfig.contract === "string" ? config.contracts[pipelineConfig.contract] : pipelineConfig.contract;
  const kept = pipelineConfig.sinks.flatMap((s, i) => (s.type === "duckdb" && options.syncDuckdb === false ? [] : [i]));
  const sinks = kept.map((i) => createSink(pipelineConfig.sinks[i]!, effectiveDedup(pipelineConfig, i)));
  const groups = dedupGroups(pipelineConfig, sinks, kept);
  const readHints = readHintsFor(contract, pipelineConfig.transforms.length > 0);
  return { pipeline, config: pipelineConfig, contract, sinks, groups, readHints };
}
