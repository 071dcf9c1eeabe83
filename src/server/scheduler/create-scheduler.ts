import { afterDependents } from "../../config/after-graph.js";
import type { LoadedConfig } from "../../config/load-config.js";
import { ConfigError } from "../../errors.js";
import type { Logger } from "../../util/logger.js";
import type { PipelineStatus, Scheduler, ServeEvent } from "../serve-context.js";
import { BatchPipeline } from "./batch-pipeline.js";
import { EventBus } from "./event-bus.js";
import { pipelineKind } from "./pipeline-kind.js";
import { ScheduleState } from "./schedule-state.js";
import type { spawnRun } from "./spawn-run.js";
import { StreamWorker } from "./stream-worker.js";

export interface SchedulerOptions {
  readonly loaded: LoadedConfig;
  readonly log: Logger;
  /** The clock (tests fix it): event times, missed fires, the heartbeat. Cron timers run on real time. */
  readonly now?: () => Date;
  /** The CLI the runs and workers are started with (default dist/cli/main.js). */
  readonly cli?: string;
  /** Extra environment for the runs and workers (tests). */
  readonly env?: NodeJS.ProcessEnv;
  readonly spawn?: typeof spawnRun;
}

/** A Scheduler that does nothing until start() (so its listeners hear the first events). */
export interface StartableScheduler extends Scheduler {
  /** Arms the schedules (reporting and catching up missed fires) and spawns the stream workers. */
  start(): void;
}

/** How often the heartbeat ticks (it also keeps a server with nothing scheduled alive). */
const HEARTBEAT_MS = 1000;

/**
 * The scheduler and stream supervisor of `sluice serve` (SPEC section 10): a BatchPipeline per batch
 * pipeline (its cron schedule, runs, retries, missed fires) and a StreamWorker per stream pipeline;
 * `after:` edges start a pipeline's dependents (trigger `after`) each time it succeeds. Nothing runs
 * before start(). A cycle in `after` is a ConfigError, thrown here.
 */
export function createScheduler(opts: SchedulerOptions): StartableScheduler {
  const { loaded, log } = opts;
  const now = opts.now ?? (() => new Date());
  const dependents = afterDependents(loaded.config);
  const bus = new EventBus();
  const emit = (event: ServeEvent) => bus.emit(event);
  const state = new ScheduleState(loaded.dataDir);
  const batches = new Map<string, BatchPipeline>();
  const streams = new Map<string, StreamWorker>();
  const onSucceeded = (pipeline: string) => {
    for (const next of dependents.get(pipeline) ?? []) batches.get(next)?.trigger("after");
  };
  for (const [name, config] of Object.entries(loaded.config.pipelines)) {
    const common = {
      name,
      config,
      configPath: loaded.path,
      dataDir: loaded.dataDir,
      log,
      now,
      emit,
      ...childOptions(opts),
    };
    if (pipelineKind(config) === "stream") {
      streams.set(name, new StreamWorker(common));
    } else {
      const after = config.after ?? [];
      batches.set(name, new BatchPipeline({ ...common, state, onSucceeded, after }));
    }
  }
  let beat = now();
  let heart: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;
  return {
    start: () => {
      if (heart || stopped) return;
      heart = setInterval(() => {
        beat = now();
      }, HEARTBEAT_MS);
      for (const b of batches.values()) b.start();
      for (const w of streams.values()) w.start();
    },
    pipelines: (): PipelineStatus[] =>
      Object.keys(loaded.config.pipelines).map((n) => (batches.get(n) ?? streams.get(n))!.status()),
    runNow: async (pipeline) => {
      const batch = batches.get(pipeline);
      if (batch) return batch.trigger("manual");
      if (streams.has(pipeline)) {
        return { started: false, refused: `pipeline \`${pipeline}\` is a stream: it runs as a supervised worker` };
      }
      throw new ConfigError(`no pipeline named \`${pipeline}\` in ${loaded.path}`);
    },
    on: (listener) => bus.on(listener),
    heartbeat: () => beat,
    stop: () => {
      stopped ??= stopAll([...batches.values(), ...streams.values()], heart);
      return stopped;
    },
  };
}

/** How runs and workers are started (tests: another CLI, environment, spawn). */
function childOptions(opts: SchedulerOptions): { cli?: string; env?: NodeJS.ProcessEnv; spawn?: typeof spawnRun } {
  return {
    ...(opts.cli ? { cli: opts.cli } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.spawn ? { spawn: opts.spawn } : {}),
  };
}

/** Stops every pipeline at once (batch schedules, retries, workers) and waits for all of them. */
async function stopAll(parts: { stop(): Promise<void> }[], heart: NodeJS.Timeout | undefined): Promise<void> {
  await Promise.all(parts.map((p) => p.stop()));
  clearInterval(heart);
}
