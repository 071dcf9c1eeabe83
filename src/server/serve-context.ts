import type { LoadedConfig } from "../config/load-config.js";
import type { RunRecord } from "../plan/run-record.js";
import type { Logger } from "../util/logger.js";

/**
 * What the parts of `sluice serve` share (SPEC section 10): the scheduler and stream supervisor
 * (server/scheduler/) run the pipelines; the HTTP app (server/http/) shows them and asks for runs;
 * both read the ledger. This file is the contract between them.
 */

/** How a run was asked for. */
export type RunTrigger = "schedule" | "manual" | "after" | "retry" | "catch-up";

/** One pipeline as the scheduler sees it now. */
export interface PipelineStatus {
  readonly name: string;
  readonly kind: "batch" | "stream";
  readonly schedule?: string;
  readonly timezone?: string;
  /** ISO time of the next scheduled run (batch pipelines with a schedule). */
  readonly nextRun?: string;
  /** Pipelines whose success starts this one (`after:`). */
  readonly after: readonly string[];
  /** The run in progress (its lock's holder), if any. */
  readonly running?: { readonly run_id: string; readonly started_at: string; readonly trigger?: RunTrigger };
  /** A stream pipeline's supervised worker. */
  readonly worker?: {
    readonly state: "running" | "backoff" | "stopped";
    readonly pid?: number;
    readonly restarts: number;
    readonly since: string;
    readonly lastExit?: string;
    /** How far behind the stream the newest micro-batch started (its record's `lag`). */
    readonly lag?: { readonly messages: number; readonly seconds?: number };
  };
  /** Scheduled times that passed while no server ran (reported; run once when `catch_up: true`). */
  readonly missed?: {
    readonly count: number;
    readonly first: string;
    readonly last: string;
    readonly caughtUp: boolean;
  };
}

/** What the scheduler announces (the dashboard's server-sent events, /metrics). */
export type ServeEvent =
  | { readonly type: "run-started"; readonly pipeline: string; readonly at: string; readonly trigger: RunTrigger }
  | { readonly type: "run-progress"; readonly pipeline: string; readonly at: string; readonly message: string }
  | { readonly type: "run-ended"; readonly pipeline: string; readonly at: string; readonly record: RunRecord }
  | {
      readonly type: "run-refused";
      readonly pipeline: string;
      readonly at: string;
      readonly trigger: RunTrigger;
      readonly reason: string;
    }
  | {
      readonly type: "worker";
      readonly pipeline: string;
      readonly at: string;
      readonly state: "running" | "backoff" | "stopped";
      readonly detail?: string;
    };

/** The scheduler and supervisor, as the HTTP app uses them. */
export interface Scheduler {
  pipelines(): PipelineStatus[];
  /** Starts a run now (the dashboard's "run now"); `refused` names the running run when there is one. */
  runNow(pipeline: string): Promise<{ readonly started: boolean; readonly refused?: string }>;
  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: (event: ServeEvent) => void): () => void;
  /** When the scheduler last ticked (the heartbeat gauge). */
  heartbeat(): Date;
  /** Stops scheduling, lets running work finish (streams stop at a micro-batch boundary). */
  stop(): Promise<void>;
}

/** Everything the HTTP app is given. */
export interface ServeContext {
  readonly loaded: LoadedConfig;
  readonly dataDir: string;
  readonly scheduler: Scheduler;
  readonly log: Logger;
  /** The clock (tests fix it). */
  readonly now: () => Date;
}
