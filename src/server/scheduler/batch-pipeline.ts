import { Cron } from "croner";
import type { PipelineConfig } from "../../config/spec.js";
import { describeBusy, PipelineLock } from "../../runner/pipeline-lock.js";
import type { Logger } from "../../util/logger.js";
import type { PipelineStatus, RunTrigger, ServeEvent } from "../serve-context.js";
import { backoffDelay } from "./backoff.js";
import { type MissedFires, missedFires } from "./missed-fires.js";
import type { ScheduleState } from "./schedule-state.js";
import { type RunOutcome, type SpawnedRun, spawnRun } from "./spawn-run.js";

/** The longest wait between two scheduler retries of a failed run. */
const MAX_RETRY_DELAY_MS = 10 * 60_000;

export interface BatchPipelineOptions {
  readonly name: string;
  readonly config: PipelineConfig;
  readonly configPath: string;
  readonly dataDir: string;
  readonly state: ScheduleState;
  readonly log: Logger;
  readonly now: () => Date;
  readonly emit: (event: ServeEvent) => void;
  /** Called after each succeeded run (the scheduler starts the `after` dependents). */
  readonly onSucceeded: (pipeline: string) => void;
  /** Names this pipeline's `after` list (for its status). */
  readonly after: readonly string[];
  readonly spawn?: typeof spawnRun;
  readonly cli?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** This server's run of the pipeline in progress (a run, or the wait before its retry). */
interface Busy {
  readonly trigger: RunTrigger;
  readonly startedAt: Date;
  readonly done: Promise<void>;
}

/**
 * One batch pipeline under `sluice serve`: its cron job (in its time zone), its runs as child
 * processes, one at a time, and the scheduler's retries of a failed run.
 *
 * Contracts:
 * - One run at a time: a trigger while this server's run (or the backoff before its retry) is in
 *   progress, or while another process holds the pipeline's lock, starts nothing; it is refused with
 *   a `run-refused` event naming the running run (a schedule tick overlapping this server's own run
 *   is skipped quietly, at debug level: a per-second schedule would otherwise flood the events). An
 *   `after` trigger during this server's own run is queued instead: one run follows the current one.
 * - Retries: the runner retries transient errors inside a run (`retries`); a run that still ends in
 *   any failure status (or dies without a record) is run again by the scheduler up to
 *   `retries.attempts - 1` more times, after `backoff_seconds * 2^(k-1)` s (at most 10 min), trigger
 *   `retry`. So a pipeline with `attempts: 3` gets at most 3 runs per trigger, each with up to 3
 *   attempts on transient errors. A refused run is not retried.
 * - Missed schedules: fires between the last one recorded in schedule-state.json and now are
 *   reported (status `missed`, a warning) and, with `catch_up: true`, run once (trigger `catch-up`).
 */
export class BatchPipeline {
  private job: Cron | undefined;
  private busy: Busy | undefined;
  private stopping = false;
  private cancelWait: (() => void) | undefined;
  /** An `after` trigger arrived during this server's own run: one more run follows it. */
  private afterPending = false;
  private missed: (MissedFires & { caughtUp: boolean }) | undefined;
  private readonly spawn: typeof spawnRun;

  constructor(private readonly o: BatchPipelineOptions) {
    this.spawn = o.spawn ?? spawnRun;
  }

  /** Starts the cron job and reports (and catches up) missed fires. */
  start(): void {
    const { schedule, timezone } = this.o.config;
    if (!schedule) return;
    this.job = new Cron(schedule, { ...(timezone ? { timezone } : {}) }, () => this.fire());
    this.checkMissed(this.job);
  }

  private checkMissed(job: Cron): void {
    const now = this.o.now();
    const missed = missedFires(job, this.o.state.lastFire(this.o.name), now);
    if (!missed) return;
    const catchUp = this.o.config.catch_up;
    this.missed = { ...missed, caughtUp: catchUp };
    this.o.log.warn(
      `pipeline ${this.o.name}: ${missed.count >= 10_000 ? "at least " : ""}${missed.count} scheduled run(s) missed while no server ran (${missed.first.toISOString()} to ${missed.last.toISOString()})${catchUp ? ": catching up with one run" : " (catch_up: true runs one of them)"}`,
    );
    this.o.state.recordFire(this.o.name, missed.last);
    if (catchUp) this.trigger("catch-up");
  }

  private fire(): void {
    if (this.stopping) return;
    this.o.state.recordFire(this.o.name, this.o.now());
    if (this.busy) {
      this.o.log.debug(`pipeline ${this.o.name}: scheduled run skipped, its ${this.busy.trigger} run is in progress`);
      return;
    }
    this.trigger("schedule");
  }

  /** Starts a run now unless one is in progress; `refused` names the running run. */
  trigger(trigger: RunTrigger): { started: boolean; refused?: string } {
    if (trigger === "after" && this.busy && !this.stopping) {
      // The upstream committed again while this pipeline runs: that run may have read before the
      // commit, so one more run follows it (several such triggers make one run).
      this.afterPending = true;
      return { started: false, refused: `queued after the ${this.busy.trigger} run in progress` };
    }
    const refused = this.stopping ? "sluice serve is stopping" : this.refusal();
    if (refused) {
      this.o.emit({ type: "run-refused", pipeline: this.o.name, at: this.at(), trigger, reason: refused });
      return { started: false, refused };
    }
    const startedAt = this.o.now();
    const done = this.runWithRetries(trigger).finally(() => {
      this.busy = undefined;
      if (this.afterPending && !this.stopping) {
        this.afterPending = false;
        this.trigger("after");
      }
    });
    this.busy = { trigger, startedAt, done };
    return { started: true };
  }

  /** Why a run cannot start now (naming the running run), or undefined. */
  private refusal(): string | undefined {
    const held = PipelineLock.holderOf(this.o.dataDir, this.o.name);
    if (held) return describeBusy(this.o.name, held);
    if (this.busy)
      return `pipeline \`${this.o.name}\` is already running: its ${this.busy.trigger} run (waiting to retry)`;
    return undefined;
  }

  /** Runs once, then again after a failure while retries last (see the class comment). */
  private async runWithRetries(first: RunTrigger): Promise<void> {
    const retries = Math.max(0, this.o.config.retries.attempts - 1);
    let trigger = first;
    for (let k = 1; ; k++) {
      const outcome = await this.runOnce(trigger);
      if (outcome.kind === "refused") return;
      if (outcome.record.status === "succeeded") return this.o.onSucceeded(this.o.name);
      if (k > retries || this.stopping) return;
      const delay = backoffDelay(k, this.o.config.retries.backoff_seconds * 1000, MAX_RETRY_DELAY_MS);
      this.o.log.warn(
        `pipeline ${this.o.name}: run ${outcome.record.run_id} ${outcome.record.status}; retry ${k} of ${retries} in ${delay / 1000} s`,
      );
      if (!(await this.wait(delay))) return;
      trigger = "retry";
    }
  }

  private async runOnce(trigger: RunTrigger): Promise<RunOutcome> {
    const name = this.o.name;
    this.o.emit({ type: "run-started", pipeline: name, at: this.at(), trigger });
    const run: SpawnedRun = this.spawn({
      pipeline: name,
      configPath: this.o.configPath,
      trigger,
      ...(this.o.cli ? { cli: this.o.cli } : {}),
      ...(this.o.env ? { env: this.o.env } : {}),
      onLine: (message) => this.o.emit({ type: "run-progress", pipeline: name, at: this.at(), message }),
    });
    const outcome = await run.outcome;
    if (outcome.kind === "refused") {
      this.o.emit({ type: "run-refused", pipeline: name, at: this.at(), trigger, reason: outcome.reason });
    } else {
      this.o.emit({ type: "run-ended", pipeline: name, at: this.at(), record: outcome.record });
    }
    return outcome;
  }

  /** Waits `ms`; false when stop() cut the wait short. */
  private wait(ms: number): Promise<boolean> {
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.cancelWait = undefined;
        done(true);
      }, ms);
      this.cancelWait = () => {
        clearTimeout(timer);
        this.cancelWait = undefined;
        done(false);
      };
    });
  }

  status(): PipelineStatus {
    const { schedule, timezone } = this.o.config;
    const next = this.job?.nextRun();
    const running = this.running();
    return {
      name: this.o.name,
      kind: "batch",
      after: this.o.after,
      ...(schedule ? { schedule } : {}),
      ...(timezone ? { timezone } : {}),
      ...(next ? { nextRun: next.toISOString() } : {}),
      ...(running ? { running } : {}),
      ...(this.missed
        ? { missed: { ...this.missed, first: this.missed.first.toISOString(), last: this.missed.last.toISOString() } }
        : {}),
    };
  }

  /** The run in progress: the lock's holder (this server's run or another process's). */
  private running(): PipelineStatus["running"] {
    const held = PipelineLock.holderOf(this.o.dataDir, this.o.name);
    const trigger = this.busy?.trigger;
    if (held) return { run_id: held.run_id, started_at: held.started_at, ...(trigger ? { trigger } : {}) };
    if (!this.busy) return undefined;
    return { run_id: "(starting)", started_at: this.busy.startedAt.toISOString(), trigger: this.busy.trigger };
  }

  /** Stops the schedule and any pending retry; resolves when the run in progress has finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.job?.stop();
    this.cancelWait?.();
    await this.busy?.done;
  }

  private at(): string {
    return this.o.now().toISOString();
  }
}
