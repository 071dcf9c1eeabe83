import { findConfigFile, type LoadedConfig, loadConfig } from "../config/load-config.js";
import { freshnessClock } from "../runner/check-freshness.js";
import { createLogger, type Logger } from "../util/logger.js";
import { startHttp } from "./http/start-http.js";
import { logServeEvents } from "./log-serve-events.js";
import { createScheduler, type SchedulerOptions } from "./scheduler/create-scheduler.js";
import type { Scheduler, ServeContext } from "./serve-context.js";

export interface ServeOptions {
  /** `-c`: the config file (default: ./sluice.yaml). */
  readonly configPath?: string;
  /** Dashboard address; default the config's `serve.host` / `serve.port` (127.0.0.1:4200). */
  readonly host?: string;
  readonly port?: number;
  /** false: no dashboard (`--no-http`). */
  readonly http?: boolean;
  readonly log?: Logger;
  readonly now?: () => Date;
  /** The runs' and workers' CLI and environment (tests). */
  readonly cli?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A running `sluice serve`. */
export interface ServeHandle {
  readonly context: ServeContext;
  readonly scheduler: Scheduler;
  /** The dashboard's URL when it listens. */
  readonly url?: string;
  /** Stops scheduling, waits for running runs, stops the workers, closes the dashboard. */
  stop(): Promise<void>;
}

/**
 * `sluice serve` as a library call: loads the config, starts the scheduler and stream supervisor
 * (server/scheduler/), logs their events, starts the dashboard (server/http/) unless `http: false`,
 * and checks the freshness alert rules every minute (runner/check-freshness.ts).
 * Resolves once everything listens; configuration errors (a bad cron, an `after` cycle, a public host
 * without SLUICE_TOKEN) throw before anything runs.
 */
export async function startServe(opts: ServeOptions = {}): Promise<ServeHandle> {
  const log = opts.log ?? createLogger();
  const loaded = await loadConfig(findConfigFile(opts.configPath));
  const now = opts.now ?? (() => new Date());
  const scheduler = createScheduler(schedulerOptions(loaded, log, now, opts));
  const unlog = logServeEvents(scheduler, log);
  const context: ServeContext = { loaded, dataDir: loaded.dataDir, scheduler, log, now };
  log.info(`sluice serve: ${Object.keys(loaded.config.pipelines).length} pipeline(s) from ${loaded.path}`);
  // The dashboard first (a host without a token is refused before anything runs), then the schedules.
  const http = opts.http === false ? undefined : await startDashboard(context, opts);
  scheduler.start();
  // Freshness rules ("yesterday's partition by 08:00") are judged on the clock, not at a run's end.
  const freshness = freshnessClock(loaded, { now, log });
  return {
    context,
    scheduler,
    ...(http?.url ? { url: http.url } : {}),
    stop: async () => {
      log.info("sluice serve: stopping (no new runs; waiting for running runs and workers)");
      freshness.stop();
      await scheduler.stop();
      await http?.close();
      unlog();
      log.info("sluice serve: stopped");
    },
  };
}

function schedulerOptions(loaded: LoadedConfig, log: Logger, now: () => Date, opts: ServeOptions): SchedulerOptions {
  return {
    loaded,
    log,
    now,
    ...(opts.cli ? { cli: opts.cli } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  };
}

/** The dashboard on `--host`/`--port` (else the config's `serve:`), with SLUICE_TOKEN for other hosts. */
function startDashboard(ctx: ServeContext, opts: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const host = opts.host ?? ctx.loaded.config.serve.host;
  const port = opts.port ?? ctx.loaded.config.serve.port;
  const token = process.env.SLUICE_TOKEN;
  return startHttp(ctx, { host, port, ...(token ? { token } : {}) });
}
