import { basename } from "node:path";
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { listQuarantine } from "../../contracts/list-quarantine.js";
import type { RunRecord } from "../../plan/run-record.js";
import { deadLetterFiles, listDeadLetters } from "../../runner/dead-letters.js";
import { tailPredicateProblem, tailSession } from "../../stream/tail-session.js";
import { isRunId } from "../../util/confine.js";
import { type AppDeps, configuredPipelines, isPipeline, streamPipelines } from "./app-deps.js";
import { pipelineHealth } from "./home-page.js";
import { pipelineSeries } from "./pipeline-series.js";
import { runsQuery } from "./runs-page.js";
import { spawnCli } from "./spawn-cli.js";

/** Most runs one /api/runs answer lists (the newest). */
const MAX_RUNS = 1000;

/**
 * The JSON API the pages use (all under /api; errors are `{error}` with a 4xx status):
 *   GET  /api/pipelines                          health of every pipeline (the home page's data)
 *   GET  /api/runs?pipeline&status&from&to&limit  run summaries, newest first
 *   GET  /api/runs/:pipeline/:run                 a run's full record
 *   GET  /api/pipelines/:name/series              chart series (pipeline-series.ts)
 *   GET  /api/pipelines/:name/quarantine?run&limit, /deadletter?rows
 *   GET  /api/pipelines/:name/tail?where          server-sent events: `row` (a JSON row), `tail-error`
 *   POST /api/pipelines/:name/run                 the scheduler's runNow
 *   POST /api/pipelines/:name/replay {run}        `sluice replay NAME --run RUN` (the real CLI)
 *   POST /api/pipelines/:name/replay-deadletter {file}  `sluice replay NAME --deadletter FILE`
 */
export function mountApi(app: Hono, deps: AppDeps): void {
  const { ctx, index } = deps;
  app.get("/api/pipelines", (c) =>
    c.json(pipelineHealth(index, ctx.scheduler.pipelines(), configuredPipelines(deps), ctx.now())),
  );
  app.get("/api/runs", (c) => {
    const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 100) || 100, 1), MAX_RUNS);
    return c.json(
      index
        .list(runsQuery((n) => c.req.query(n)))
        .slice(-limit)
        .reverse(),
    );
  });
  app.get("/api/runs/:pipeline/:run", (c) => {
    const record = index.record(c.req.param("pipeline"), c.req.param("run"));
    return record ? c.json(record) : c.json({ error: "no such run" }, 404);
  });
  app.get("/api/pipelines/:name/series", (c) => {
    const name = c.req.param("name");
    return isPipeline(deps, name) ? c.json(pipelineSeries(index, name)) : c.json({ error: "no such pipeline" }, 404);
  });
  app.get("/api/pipelines/:name/quarantine", async (c) => {
    const name = c.req.param("name");
    if (!isPipeline(deps, name)) return c.json({ error: "no such pipeline" }, 404);
    const run = c.req.query("run");
    const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 100) || 100, 0), 1000);
    const listing = await listQuarantine(ctx.dataDir, name, {
      ...(run ? { runId: run } : {}),
      limit,
      committed: (id) => index.has(name, id),
    }).catch((err: Error) => ({ error: err.message }));
    return "error" in listing ? c.json(listing, 404) : c.json(listing);
  });
  app.get("/api/pipelines/:name/deadletter", async (c) => {
    const name = c.req.param("name");
    if (!isPipeline(deps, name)) return c.json({ error: "no such pipeline" }, 404);
    const rows = Math.min(Math.max(Number(c.req.query("rows") ?? 0) || 0, 0), 100);
    return c.json(await listDeadLetters(ctx.dataDir, name, rows));
  });
  app.post("/api/pipelines/:name/run", async (c) => {
    const name = c.req.param("name");
    if (!isPipeline(deps, name)) return c.json({ error: "no such pipeline" }, 404);
    return c.json(await ctx.scheduler.runNow(name));
  });
  mountReplays(app, deps);
  mountTail(app, deps);
}

/** The two replay buttons: each runs the real CLI and answers when it ends. */
function mountReplays(app: Hono, deps: AppDeps): void {
  const { ctx } = deps;
  const replay = async (name: string, args: string[]) => {
    const out = await spawnCli(["replay", name, ...args, "-c", ctx.loaded.path, "--json"], ctx.loaded.dir);
    deps.index.refresh();
    const ok = out.code === 0;
    let records: RunRecord[] = [];
    try {
      const parsed = JSON.parse(out.stdout) as RunRecord | { record: RunRecord }[];
      records = Array.isArray(parsed) ? parsed.map((r) => r.record) : [parsed];
    } catch {
      // No JSON: the CLI refused before running (its message is on stderr).
    }
    const runs = records.map(
      (r) => `${r.run_id}: ${r.status}, ${r.rows.valid} valid, ${r.rows.quarantined} quarantined`,
    );
    const lastLine = out.stderr.trim().split("\n").slice(-3).join(" ");
    return {
      ok,
      runs: records.map((r) => r.run_id),
      message: ok ? `replayed (${runs.join("; ") || "nothing to replay"})` : lastLine || `exit ${out.code}`,
    };
  };
  app.post("/api/pipelines/:name/replay", async (c) => {
    const name = c.req.param("name");
    const { run } = (await c.req.json().catch(() => ({}))) as { run?: unknown };
    if (!isPipeline(deps, name)) return c.json({ error: "no such pipeline" }, 404);
    if (typeof run !== "string" || !isRunId(run)) return c.json({ error: "give {run: <run id>}" }, 400);
    return c.json(await replay(name, ["--run", run]));
  });
  app.post("/api/pipelines/:name/replay-deadletter", async (c) => {
    const name = c.req.param("name");
    const { file } = (await c.req.json().catch(() => ({}))) as { file?: unknown };
    if (!isPipeline(deps, name)) return c.json({ error: "no such pipeline" }, 404);
    if (typeof file !== "string" || basename(file) !== file || !deadLetterFiles(ctx.dataDir, name).includes(file))
      return c.json({ error: "give {file: <a file of the pipeline's dead letters>}" }, 400);
    return c.json(await replay(name, ["--deadletter", file]));
  });
}

/** The live tail as server-sent events; the session ends when the browser disconnects. */
function mountTail(app: Hono, deps: AppDeps): void {
  app.get("/api/pipelines/:name/tail", async (c) => {
    const name = c.req.param("name");
    if (!streamPipelines(deps).includes(name)) return c.json({ error: "no such stream pipeline" }, 404);
    const where = c.req.query("where")?.trim() || undefined;
    const problem = where ? await tailPredicateProblem(where) : undefined;
    if (problem) return c.json({ error: `where ${problem}` }, 400);
    return streamSSE(c, async (stream) => {
      const stop = new AbortController();
      stream.onAbort(() => stop.abort());
      for await (const item of tailSession(deps.ctx.dataDir, name, { where }, stop.signal)) {
        if ("row" in item) await stream.writeSSE({ event: "row", data: item.row });
        else await stream.writeSSE({ event: "tail-error", data: JSON.stringify({ message: item.error }) });
      }
    });
  });
}
