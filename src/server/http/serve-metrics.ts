import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Scheduler } from "../serve-context.js";
import type { RunIndex, RunSummary } from "./run-index.js";

/** The row counts of a run exported as `sluice_rows_total{stage}`. */
const STAGES = ["extracted", "filtered", "valid", "quarantined", "duplicates_dropped", "written"] as const;

/** Duration buckets in seconds: a 50 ms micro-batch to an hour-long export. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * The `/metrics` exposition (prom-client, one Registry per server, names by Prometheus conventions).
 *
 * Contract: the counters count the runs in the ledger, all of them: at start they are initialized
 * from every record the RunIndex holds, then each record the index adds is counted once, whoever
 * wrote it (the scheduler, a manual `sluice run`, a replay). A run-ended event makes the app refresh
 * the index, and every scrape refreshes it too, so a scrape never misses a finished run. Restarting
 * the server therefore does not reset them to zero (Prometheus' rate() sees no reset either).
 */
export class ServeMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter<"pipeline" | "status">;
  private readonly rows: Counter<"pipeline" | "stage">;
  private readonly quarantined: Counter<"pipeline">;
  private readonly deadLettered: Counter<"pipeline">;
  private readonly duration: Histogram<"pipeline" | "status">;
  private readonly lastSuccess: Gauge<"pipeline">;
  private readonly lagMessages: Gauge<"pipeline">;
  private readonly lagSeconds: Gauge<"pipeline">;
  private readonly successAt = new Map<string, number>();

  constructor(index: RunIndex, scheduler: Scheduler) {
    const registers = [this.registry];
    this.runs = new Counter({
      name: "sluice_runs_total",
      help: "Runs recorded in the ledger, by pipeline and status.",
      labelNames: ["pipeline", "status"],
      registers,
    });
    this.rows = new Counter({
      name: "sluice_rows_total",
      help: "Rows of recorded runs by stage (extracted, filtered, valid, quarantined, duplicates_dropped, written).",
      labelNames: ["pipeline", "stage"],
      registers,
    });
    this.quarantined = new Counter({
      name: "sluice_quarantined_rows_total",
      help: "Rows quarantined by the contract.",
      labelNames: ["pipeline"],
      registers,
    });
    this.deadLettered = new Counter({
      name: "sluice_dead_lettered_rows_total",
      help: "Rows sent to dead letters (enrichment failures, rows a sink refused).",
      labelNames: ["pipeline"],
      registers,
    });
    this.duration = new Histogram({
      name: "sluice_run_duration_seconds",
      help: "Run duration, start to finish.",
      labelNames: ["pipeline", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.lastSuccess = new Gauge({
      name: "sluice_last_success_timestamp_seconds",
      help: "When the pipeline's newest successful run finished (Unix time).",
      labelNames: ["pipeline"],
      registers,
    });
    this.lagMessages = new Gauge({
      name: "sluice_consumer_lag_messages",
      help: "Messages a stream's consumer was behind at its newest micro-batch.",
      labelNames: ["pipeline"],
      registers,
    });
    this.lagSeconds = new Gauge({
      name: "sluice_consumer_lag_seconds",
      help: "How old the oldest unread message was at the stream's newest micro-batch.",
      labelNames: ["pipeline"],
      registers,
    });
    new Gauge({
      name: "sluice_scheduler_heartbeat_timestamp_seconds",
      help: "When the scheduler last ticked (Unix time).",
      registers,
      collect() {
        this.set(scheduler.heartbeat().getTime() / 1000);
      },
    });
    index.onAdd((run) => this.count(run));
  }

  /** Counts one recorded run. */
  private count(run: RunSummary): void {
    const pipeline = run.pipeline;
    this.runs.inc({ pipeline, status: run.status });
    for (const stage of STAGES) this.rows.inc({ pipeline, stage }, run.rows[stage]);
    this.quarantined.inc({ pipeline }, run.rows.quarantined);
    this.deadLettered.inc({ pipeline }, run.rows.dead_lettered);
    this.duration.observe({ pipeline, status: run.status }, run.duration_ms / 1000);
    if (run.status === "succeeded") {
      const at = Date.parse(run.finished_at) / 1000;
      // Runs arrive oldest first, but a late-indexed older run must not move the gauge back.
      if ((this.successAt.get(pipeline) ?? -1) < at) {
        this.successAt.set(pipeline, at);
        this.lastSuccess.set({ pipeline }, at);
      }
    }
    if (run.lag_messages !== undefined) this.lagMessages.set({ pipeline }, run.lag_messages);
    if (run.lag_seconds !== undefined) this.lagSeconds.set({ pipeline }, run.lag_seconds);
  }

  /** The text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
