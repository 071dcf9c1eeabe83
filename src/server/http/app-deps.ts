import type { ServeContext } from "../serve-context.js";
import type { RunIndex } from "./run-index.js";

/** What the route modules share: the serve context and the run index (refreshed per request by the app). */
export interface AppDeps {
  readonly ctx: ServeContext;
  readonly index: RunIndex;
}

/** The pipelines of the config, in config order. */
export function configuredPipelines(deps: AppDeps): string[] {
  return Object.keys(deps.ctx.loaded.config.pipelines);
}

/** Whether `name` is a pipeline of the config (every per-pipeline route checks this first: 404 otherwise). */
export function isPipeline(deps: AppDeps, name: string | undefined): name is string {
  return name !== undefined && Object.hasOwn(deps.ctx.loaded.config.pipelines, name);
}

/** Stream pipelines (the ones `sluice tail` can tail). */
export function streamPipelines(deps: AppDeps): string[] {
  return Object.entries(deps.ctx.loaded.config.pipelines)
    .filter(([, p]) => ["nats", "redis_stream", "pubsub"].includes(p.source.type))
    .map(([name]) => name);
}
