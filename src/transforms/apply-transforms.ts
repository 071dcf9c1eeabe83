import type { RunContext } from "../runner/run-context.js";

/**
 * Applies the pipeline's transforms in order (SPEC section 6). Each step is
 * SQL over the previous relation; the result is a relation in the engine.
 * Contract: transforms never drop a row silently (only `filter` removes rows,
 * by the user's predicate), and values that cannot be converted become NULL
 * for the contract to catch, not exceptions.
 */
export async function applyTransforms(ctx: RunContext, relation: string): Promise<string> {
  if (ctx.pipelineConfig.transforms.length > 0) {
    throw new Error("transforms are not implemented yet");
  }
  return relation;
}
