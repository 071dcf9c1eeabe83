import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ServeContext } from "../serve-context.js";
import { accessControl } from "./access-control.js";
import { mountApi } from "./api-routes.js";
import type { AppDeps } from "./app-deps.js";
import { mountEvents } from "./event-stream.js";
import { mountPages } from "./page-routes.js";
import { RunIndex } from "./run-index.js";
import { ServeMetrics } from "./serve-metrics.js";
import { mountAssets } from "./static-assets.js";

/** A scheduler heartbeat older than this makes /health answer 503. */
export const HEARTBEAT_STALE_MS = 120_000;

export interface DashboardApp {
  readonly app: Hono;
  readonly index: RunIndex;
  readonly metrics: ServeMetrics;
  /** Stops listening to the scheduler. */
  dispose(): void;
}

/**
 * The dashboard's Hono app: access control first (access-control.ts), then /health, /metrics, the
 * assets, the SSE stream, the JSON API and the pages. Every request but /health and the assets
 * refreshes the run index first (one stat per pipeline folder when nothing changed), and a run-ended
 * event refreshes it at once, so pages and /metrics include every recorded run.
 */
export function createApp(ctx: ServeContext, token: string | undefined): DashboardApp {
  const index = new RunIndex(ctx.dataDir);
  index.refresh();
  const metrics = new ServeMetrics(index, ctx.scheduler);
  const unsubscribe = ctx.scheduler.on((event) => {
    if (event.type === "run-ended") index.refresh();
  });
  const deps: AppDeps = { ctx, index };
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    ctx.log.error(`dashboard: ${c.req.method} ${c.req.path}: ${err.message}`);
    return c.json({ error: err.message }, 500);
  });
  for (const mw of accessControl(token)) app.use("*", mw);
  app.get("/health", (c) => {
    const beat = ctx.scheduler.heartbeat();
    const age = ctx.now().getTime() - beat.getTime();
    const ok = age <= HEARTBEAT_STALE_MS;
    return c.json(
      { status: ok ? "ok" : "stale", heartbeat: beat.toISOString(), heartbeat_age_s: age / 1000 },
      ok ? 200 : 503,
    );
  });
  mountAssets(app);
  app.use("*", async (_c, next) => {
    index.refresh();
    await next();
  });
  app.get("/metrics", async (c) => c.body(await metrics.text(), 200, { "content-type": metrics.contentType }));
  mountEvents(app, deps);
  mountApi(app, deps);
  mountPages(app, deps);
  return { app, index, metrics, dispose: unsubscribe };
}
