import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { LoadedConfig } from "../config/load-config.js";
import type { TransformConfig } from "../config/spec.js";
import { quarantineFile } from "../contracts/quarantine-file.js";
import { QuarantineSource } from "../contracts/quarantine-source.js";
import { Engine } from "../engine/engine.js";
import { literal } from "../engine/sql.js";
import { ConfigError, SluiceError } from "../errors.js";
import type { RunRecord } from "../plan/run-record.js";
import { safeRunId } from "../util/confine.js";
import { Ledger } from "./ledger.js";
import { type RunPipelineOptions, runPipeline } from "./run-pipeline.js";

export interface ReplayOptions extends Omit<RunPipelineOptions, "source" | "quarantineAs" | "batchId" | "driver"> {
  /**
   * Replay through the contract and dedup only. Quarantined rows were stored
   * after the transforms ran (so PII is already protected); use this when the
   * pipeline has transforms that must not run twice on a row.
   */
  readonly skipTransforms?: boolean;
}

export interface ReplayResult {
  /** The replay's own run record (also in the ledger). */
  readonly record: RunRecord;
  /** Rows read back from the quarantine file. */
  readonly replayed: number;
  /** Of those, rows that passed and went through dedup to the sinks. */
  readonly passed: number;
  /** Rows still failing, kept in the quarantine file with their new reasons. */
  readonly stillQuarantined: number;
}

/**
 * `sluice replay`: re-runs one run's quarantined rows through the pipeline's
 * current transforms, contract and dedup (as an `append` batch) into its
 * sinks, in quarantine mode whatever the configured validation.
 *
 * The quarantined rows are the rows the contract saw, i.e. after the
 * transforms; running the transforms again is right for a fix made in them
 * when they are idempotent (case renames, casts, time zones, derive, filter).
 * Steps that would silently change a row a second time (pii hash, map in
 * place) or cannot find their input any more (explicit rename, pii drop) are
 * refused (ConfigError, exit 2) unless `skipTransforms` replays through the
 * contract and dedup only.
 *
 * Contract: rows that now pass are written; rows that still fail stay
 * quarantined with their new reasons. Only after every sink committed the
 * replayed batch does the runner replace `quarantine/<pipeline>/<run_id>.parquet`,
 * in one rename, by the replay's own quarantine file (or remove it when every
 * row passed; `quarantineAs`) — so a failed replay changes nothing, and at any
 * moment each row is in the sinks or in the quarantine (after a crash
 * between the two steps, possibly both: replaying again is absorbed by
 * merge/eager dedup). The run id must have the shape of one and a record in
 * the ledger: `--run ../other/<id>` cannot reach another pipeline's file. Inside the file, `_run_id` then names the replay run,
 * the run that found the current reasons. The replay's record in the ledger
 * points at the file it left.
 */
export async function replayQuarantine(
  loaded: LoadedConfig,
  pipeline: string,
  runId: string,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const configured = loaded.config.pipelines[pipeline];
  if (!configured) {
    throw new ConfigError(
      `no pipeline named \`${pipeline}\` in ${loaded.path}`,
      `pipelines defined: ${Object.keys(loaded.config.pipelines).join(", ") || "none"}`,
    );
  }
  const file = quarantineFile(loaded.dataDir, pipeline, safeRunId(runId));
  if (!existsSync(file) || !new Ledger(loaded.dataDir).has(pipeline, runId)) {
    throw new SluiceError(`run ${runId} of \`${pipeline}\` has no quarantined rows`, {
      component: "quarantine",
      stage: "replay",
      hint: `list the runs that have quarantined rows with \`sluice quarantine ${pipeline}\``,
    });
  }
  const { skipTransforms, ...runOptions } = options;
  const unsafe = skipTransforms ? [] : notReplayable(configured.transforms);
  if (unsafe.length > 0) {
    throw new ConfigError(
      `replay would run the transforms again on rows stored after them, and ${unsafe.join(", ")} cannot run twice on a row`,
      `replay through the contract and dedup only: sluice replay ${pipeline} --run ${runId} --skip-transforms`,
    );
  }
  const replayed = await countRows(file);
  const effective: LoadedConfig = {
    ...loaded,
    config: {
      ...loaded.config,
      pipelines: {
        ...loaded.config.pipelines,
        [pipeline]: { ...configured, validation: "quarantine", ...(skipTransforms ? { transforms: [] } : {}) },
      },
    },
  };
  const record = await runPipeline(effective, pipeline, {
    ...runOptions,
    source: new QuarantineSource(file, runId),
    quarantineAs: runId,
    // The file only changes when a replay commits: a replay retried after a failure is the same batch.
    batchId: `replay-${runId}-${createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 12)}`,
    driver: "replay",
  });
  if (record.status !== "succeeded") return { record, replayed, passed: 0, stillQuarantined: replayed };
  return { record, replayed, passed: record.rows.valid, stillQuarantined: record.rows.quarantined };
}

/** Transform steps that must not run twice on the same row, named as `transforms[i] (what)`. */
export function notReplayable(transforms: readonly TransformConfig[]): string[] {
  return transforms.flatMap((t, i) => {
    const at = `transforms[${i}]`;
    if (t.type === "pii") {
      const modes = Object.values(t.columns).filter((m) => m === "hash" || m === "drop");
      return modes.length ? [`${at} (pii ${[...new Set(modes)].join("/")})`] : [];
    }
    if (t.type === "map" && t.target === undefined) return [`${at} (map in place)`];
    if (t.type === "rename" && t.columns && Object.keys(t.columns).length > 0) return [`${at} (explicit rename)`];
    return [];
  });
}

async function countRows(file: string): Promise<number> {
  const engine = await Engine.open();
  try {
    return await engine.count(`read_parquet(${literal(file)})`);
  } finally {
    engine.close();
  }
}
