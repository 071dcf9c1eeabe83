import type { Hono } from "hono";
import { listQuarantine } from "../../contracts/list-quarantine.js";
import { IncidentStore } from "../../quality/alert-incidents.js";
import { listDeadLetters } from "../../runner/dead-letters.js";
import { isRunId } from "../../util/confine.js";
import { type AppDeps, configuredPipelines, isPipeline, streamPipelines } from "./app-deps.js";
import { deadLetterPage, quarantinePage, tailPage } from "./browser-pages.js";
import { chartsPage } from "./charts-page.js";
import { homePage, pipelineHealth } from "./home-page.js";
import { FAILURE_SCAN_ROWS, runPage } from "./run-page.js";
import { runsPage, runsQuery } from "./runs-page.js";

/** Rows the quarantine browser shows; dead letters sampled per file. */
const QUARANTINE_ROWS = 200;
const DEADLETTER_SAMPLE = 5;

/** The HTML pages (server-rendered; see layout.ts). Unknown pipelines or runs are 404 pages. */
export function mountPages(app: Hono, deps: AppDeps): void {
  const { ctx, index } = deps;
  const pipelines = () => configuredPipelines(deps);
  const incidents = new IncidentStore(ctx.dataDir);
  app.get("/", (c) =>
    c.html(
      homePage(pipelineHealth(index, ctx.scheduler.pipelines(), pipelines(), ctx.now()), incidents.open(pipelines())),
    ),
  );
  app.get("/runs", (c) =>
    c.html(
      runsPage(
        index,
        runsQuery((n) => c.req.query(n)),
        pipelines(),
      ),
    ),
  );
  app.get("/runs/:pipeline/:run", async (c) => {
    const pipeline = c.req.param("pipeline");
    const record = index.record(pipeline, c.req.param("run"));
    if (!record) return c.text("no such run\n", 404);
    const quarantine = record.quarantine_path
      ? await listQuarantine(ctx.dataDir, pipeline, { runId: record.run_id, limit: FAILURE_SCAN_ROWS }).catch(
          () => undefined,
        )
      : undefined;
    return c.html(runPage(record, quarantine));
  });
  app.get("/charts", (c) => {
    const chosen = c.req.query("pipeline") || pipelines()[0];
    if (chosen !== undefined && !isPipeline(deps, chosen)) return c.text("no such pipeline\n", 404);
    return c.html(chartsPage(pipelines(), chosen));
  });
  app.get("/quarantine", async (c) => {
    const chosen = c.req.query("pipeline") || undefined;
    if (chosen === undefined) return c.html(quarantinePage(pipelines(), undefined, undefined, undefined));
    if (!isPipeline(deps, chosen)) return c.text("no such pipeline\n", 404);
    const run = c.req.query("run") || undefined;
    if (run !== undefined && !isRunId(run)) return c.text("no such run\n", 404);
    const listing = await listQuarantine(ctx.dataDir, chosen, {
      ...(run ? { runId: run } : {}),
      limit: QUARANTINE_ROWS,
      committed: (id) => index.has(chosen, id),
    }).catch(() => undefined);
    if (!listing) return c.text("no quarantined rows for that run\n", 404);
    return c.html(quarantinePage(pipelines(), chosen, run, listing));
  });
  app.get("/deadletter", async (c) => {
    const chosen = c.req.query("pipeline") || undefined;
    if (chosen === undefined) return c.html(deadLetterPage(pipelines(), undefined, undefined));
    if (!isPipeline(deps, chosen)) return c.text("no such pipeline\n", 404);
    return c.html(deadLetterPage(pipelines(), chosen, await listDeadLetters(ctx.dataDir, chosen, DEADLETTER_SAMPLE)));
  });
  app.get("/tail", (c) => {
    const streams = streamPipelines(deps);
    const chosen = c.req.query("pipeline") || undefined;
    if (chosen !== undefined && !streams.includes(chosen)) return c.text("no such stream pipeline\n", 404);
    return c.html(tailPage(streams, chosen, c.req.query("where") || undefined));
  });
}
