import type { RunIndex } from "./run-index.js";

/** Runs a chart shows at most (the newest). */
export const SERIES_RUNS = 2000;

/** Column-oriented series of one pipeline's runs, the shape uPlot draws (x = run start, Unix seconds). */
export interface PipelineSeries {
  readonly pipeline: string;
  readonly t: number[];
  readonly status: string[];
  readonly rows: {
    readonly extracted: number[];
    readonly valid: number[];
    readonly quarantined: number[];
    readonly written: number[];
  };
  readonly duration_s: number[];
  readonly pass_rate: number[];
  readonly duplicate_rate: number[];
  /** Per column; null where a run did not report the column. */
  readonly null_rate: Record<string, (number | null)[]>;
}

/** The newest SERIES_RUNS runs of `pipeline`, oldest first. */
export function pipelineSeries(index: RunIndex, pipeline: string): PipelineSeries {
  const runs = index.list({ pipeline }).slice(-SERIES_RUNS);
  const columns = [...new Set(runs.flatMap((r) => Object.keys(r.null_rate)))].sort();
  const nulls: Record<string, (number | null)[]> = {};
  for (const c of columns) nulls[c] = runs.map((r) => r.null_rate[c] ?? null);
  return {
    pipeline,
    t: runs.map((r) => Date.parse(r.started_at) / 1000),
    status: runs.map((r) => r.status),
    rows: {
      extracted: runs.map((r) => r.rows.extracted),
      valid: runs.map((r) => r.rows.valid),
      quarantined: runs.map((r) => r.rows.quarantined),
      written: runs.map((r) => r.rows.written),
    },
    duration_s: runs.map((r) => r.duration_ms / 1000),
    pass_rate: runs.map((r) => r.pass_rate),
    duplicate_rate: runs.map((r) => r.duplicate_rate),
    null_rate: nulls,
  };
}
