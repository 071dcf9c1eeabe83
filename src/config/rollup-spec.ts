/** A pipeline's run hooks (spread into pipelineSpec). */
export const pipelineHookFields = {};

/** Top-level `rollups:` (spread into configSpec): aggregate tables refreshed in the warehouse. */
export const configRollupFields = {};
