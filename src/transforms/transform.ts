import type { ContractSpec, PipelineConfig, TransformConfig } from "../config/spec.js";
import type { Engine } from "../engine/engine.js";
import type { Logger } from "../util/logger.js";

/**
 * What a transform may use of the run: the engine its relations live in,
 * the config directory (relative mapping files), the logger, fresh relation
 * names, the contract and the validation mode (transforms that leave value
 * failures to the contract need both), and the list of steps. The driver's
 * context is one; tests build the small object directly.
 */
export interface TransformContext {
  readonly engine: Engine;
  /** Absolute directory of the config file: relative mapping files resolve against it. */
  readonly configDir: string;
  readonly log: Logger;
  /** A fresh relation name, e.g. tmpName("src") -> "src_3". */
  tmpName(prefix: string): string;
  /** Whether a contract checks the batch (value failures then become fail markers, see marksFailures). */
  readonly contract: ContractSpec | undefined;
  /** The pipeline's steps and its validation mode (its config slice). */
  readonly pipelineConfig: Pick<PipelineConfig, "validation" | "transforms">;
  /** A folder for files a step writes (the `http` step's requests and answers); removed with the attempt. */
  readonly scratchDir?: string;
  /**
   * Where a step puts records that cannot go on (the `http` step: failed answer items, unanswered
   * records); the plan provides it (plan/enrich-staging.ts). Without one such a step refuses to run.
   */
  readonly deadLetters?: DeadLetterCollector;
}

/** Takes a step's dead letters: records that leave the batch with a reason. */
export interface DeadLetterCollector {
  /**
   * Keeps the rows of `relation` (the step's input columns plus `_error` VARCHAR) as dead letters of
   * `stage` (`enrich:<name>`), copying them at once (the relation may be dropped after the step).
   * Returns how many rows it took.
   */
  add(relation: string, stage: string): Promise<number>;
}

/** The config of one transform type, e.g. TransformOf<"rename">. */
export type TransformOf<T extends TransformConfig["type"]> = Extract<TransformConfig, { type: T }>;

/**
 * One transform step (SPEC section 6).
 *
 * Contract: reads the relation `input` (a table or view in ctx.engine) and
 * returns the name of a new relation created with ctx.tmpName; never
 * modifies `input`. The work is DuckDB SQL; no row crosses into JavaScript.
 * Row count and order are kept (only `filter` and a user's `sql` change them).
 * `_source_pos` passes through untouched. Values that cannot be converted
 * become NULL, with a fail marker for the contract stage (see engine/system-columns.ts).
 * Configuration mistakes (unknown column, bad type, bad zone) throw a
 * SluiceError with exit code 2 naming the column and what exists.
 */
export type Transform<C> = (ctx: TransformContext, input: string, config: C) => Promise<string>;
