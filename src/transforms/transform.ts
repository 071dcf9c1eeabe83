import type { TransformConfig } from "../config/spec.js";
import type { RunContext } from "../plan/batch-context.js";

/**
 * What a transform may use of the run: the engine its relations live in,
 * the config directory (relative mapping files), the logger, fresh relation
 * names, the contract and the validation mode (transforms that leave value
 * failures to the contract need both), and the list of steps. A RunContext
 * is one; tests build the small object directly.
 */
export type TransformContext = Pick<RunContext, "engine" | "configDir" | "log" | "tmpName" | "contract"> & {
  readonly pipelineConfig: Pick<RunContext["pipelineConfig"], "validation" | "transforms">;
};

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
