import pRetry, { AbortError } from "p-retry";
import type { LoadedConfig } from "../config/load-config.js";
import { type Confirmation, validateBatch } from "../contracts/validate-batch.js";
import { dedupBatch } from "../dedup/dedup-batch.js";
import { Engine } from "../engine/engine.js";
import { ident } from "../engine/sql.js";
import { asSluiceError, SluiceError, ValidationFailedError } from "../errors.js";
import { computeMetrics } from "../quality/compute-metrics.js";
import { alertRuleProblems, evaluateAlerts } from "../quality/evaluate-alerts.js";
import { sendAlertWebhooks } from "../quality/send-alert-webhooks.js";
import { createSink } from "../sinks/registry.js";
import type { SinkOutput } from "../sinks/sink.js";
import { createSource } from "../sources/registry.js";
import type { LoadedBatch, Source } from "../sources/source.js";
import { applyTransformSteps } from "../transforms/apply-transforms.js";
import { removeQuietly } from "../util/atomic.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { Progress } from "../util/progress.js";
import { redactSecrets } from "../util/redact.js";
import { datasetRows } from "./dataset-rows.js";
import { Ledger } from "./ledger.js";
import { lineageSelect } from "../plan/lineage.js";
import { publishRunQuarantine } from "./publish-run-quarantine.js";
import type { RunContext, RunOptions } from "../plan/batch-context.js";
import { newRunId } from "./run-id.js";
import type { RunRecord } from "../plan/run-record.js";
import { scratchDir } from "./scratch-dir.js";
import { stageBatch } from "../plan/stage-batch.js";
import { StateStore } from "./state-store.js";
import { sweepOrphanQuarantine } from "./sweep-orphan-quarantine.js";

export interface RunPipelineOptions extends RunOptions {
  readonly log?: Logger;
  readonly progress?: Progress;
  readonly processingType?: "batch" | "streaming";
  /**
   * Reads this source instead of the configured one (replay of quarantined
   * rows, tests). The rest of the pipeline — transforms, contract, dedup,
   * sinks — is the configured one.
   */
  readonly source?: Source;
  /**
   * The run whose quarantine file this run's quarantined rows replace (replay): published over
   * `quarantine/<pipeline>/<run>.parquet` with the commit, which is removed when no row failed.
   */
  readonly quarantineAs?: string;
}

/**
 * Runs one pipeline once (one batch) and returns its run record.
 *
 * The life of a batch: extract -> transforms -> contract (quarantine or
 * strict failure) -> dedup -> lineage -> sinks in order -> metrics and alerts
 * -> state commit -> ledger. Everything between extract and the sinks is SQL
 * in one DuckDB session. Transient errors retry the whole attempt with
 * exponential backoff and jitter; each attempt starts from a fresh engine,
 * so a failed attempt leaves nothing behind. State moves only after every
 * sink committed. The record is saved whatever the outcome; the function
 * never throws for a run failure (the status says it), only for bugs.
 */
export async function runPipeline(
  loaded: LoadedConfig,
  pipeline: string,
  options: RunPipelineOptions = {},
): Promise<RunRecord> {
  const { config } = loaded;
  const pipelineConfig = config.pipelines[pipeline];
  if (!pipelineConfig) {
    throw new SluiceError(`no pipeline named \`${pipeline}\` in ${loaded.path}`, {
      component: "config",
      stage: "config",
      hint: `pipelines defined: ${Object.keys(config.pipelines).join(", ") || "none"}`,
      exitCode: 2,
    });
  }
  const log = options.log ?? silentLogger();
  const progress = options.progress ?? new Progress(false);
  const ledger = new Ledger(loaded.dataDir);
  const stateStore = new StateStore(loaded.dataDir);
  const startedAt = new Date();
  const runId = newRunId(startedAt);
  const orphans = sweepOrphanQuarantine(loaded.dataDir, pipeline, ledger);
  if (orphans.length)
    log.info(`removed the quarantine files of ${orphans.length} run(s) that died before their record`);
  const record: RunRecord = {
    run_id: runId,
    pipeline,
    status: "failed",
    processing_type: options.processingType ?? "batch",
    started_at: startedAt.toISOString(),
    finished_at: startedAt.toISOString(),
    attempts: 0,
    source: pipelineConfig.source.type,
    rows: { extracted: 0, filtered: 0, valid: 0, quarantined: 0, duplicates: 0, duplicates_dropped: 0, written: 0 },
    outputs: [],
    durations_ms: {},
    metrics: { validation_pass_rate: 1, null_rate: {}, unique: {}, row_count_delta: null, duplicate_rate: 0 },
    alerts: [],
    warnings: [],
  };

  const attempt = async (n: number) => {
    record.attempts = n;
    record.outputs = [];
    record.warnings = [];
    delete record.state;
    await runAttempt(loaded, pipeline, runId, startedAt, options, log, progress, stateStore, ledger, record);
  };

  try {
    await pRetry(attempt, {
      retries: Math.max(pipelineConfig.retries.attempts - 1, 0),
      minTimeout: pipelineConfig.retries.backoff_seconds * 1000,
      factor: 2,
      randomize: true,
      shouldRetry: ({ error }) => error instanceof SluiceError && error.transient,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft > 0 && error instanceof SluiceError && error.transient) {
          log.warn(`attempt ${attemptNumber} failed (${redactSecrets(error.message)}); retrying`);
        }
      },
    });
    record.status = "succeeded";
  } catch (raw) {
    const err = raw instanceof AbortError ? raw.cause : raw;
    const e = asSluiceError(err, "runner", "run");
    record.status = e.exitCode === 3 ? "validation_failed" : "failed";
    // A failed run wrote nothing to any sink: its counts say so, whatever a stage had counted.
    record.rows.written = 0;
    delete record.rows.dataset;
    delete record.rows.keys;
    delete record.state;
    if (e instanceof ValidationFailedError) {
      record.report_path = e.reportPath;
      record.rows.quarantined = 0;
      record.rows.valid = Math.max(record.rows.extracted - record.rows.filtered - e.failedRows, 0);
    }
    record.error = {
      message: redactSecrets(e.message),
      ...(e.hint ? { hint: redactSecrets(e.hint) } : {}),
      component: e.component,
      stage: e.stage,
    };
    if (e.exitCode === 2) throw e;
  } finally {
    progress.done();
    record.finished_at = new Date().toISOString();
    if (record.status !== "succeeded") {
      record.alerts.push(...evaluateAlerts(pipelineConfig.alerts, record, { failedOnly: true }));
    }
    for (const a of record.alerts) log.warn(`alert: ${a.message}`);
    for (const w of await sendAlertWebhooks(pipelineConfig.alerts, record.alerts, record)) {
      record.warnings.push(w);
      log.warn(w);
    }
    saveRecord(ledger, record, log);
  }
  // The state moves last, after the record that says the batch was committed is on disk.
  if (record.status === "succeeded" && record.state) stateStore.commit(pipeline, record.state);
  return record;
}

async function runAttempt(
  loaded: LoadedConfig,
  pipeline: string,
  runId: string,
  startedAt: Date,
  options: RunPipelineOptions,
  log: Logger,
  progress: Progress,
  stateStore: StateStore,
  ledger: Ledger,
  record: RunRecord,
): Promise<void> {
  const { config } = loaded;
  const pipelineConfig = config.pipelines[pipeline]!;
  const tmpDir = scratchDir(loaded.dataDir, runId);
  const engine = await Engine.open({
    tempDirectory: tmpDir,
    ...(config.engine.memory_limit ? { memoryLimit: config.engine.memory_limit } : {}),
    ...(config.engine.threads ? { threads: config.engine.threads } : {}),
    ...(log.isLevelEnabled("debug")
      ? { onQuery: (sql: string, ms: number) => log.debug(`engine: ${Math.round(ms)} ms: ${oneLine(sql, 240)}`) }
      : {}),
  });
  let counter = 0;
  const ctx: RunContext = {
    runId,
    batchId: `${runId}-b${record.attempts}`,
    pipeline,
    config,
    pipelineConfig,
    contract:
      typeof pipelineConfig.contract === "string" ? config.contracts[pipelineConfig.contract] : pipelineConfig.contract,
    engine,
    dataDir: loaded.dataDir,
    scratchDir: tmpDir,
    configDir: loaded.dir,
    warehousePath: loaded.warehousePath,
    startedAt,
    processingType: options.processingType ?? "batch",
    options,
    state: stateStore.load(pipeline),
    log,
    progress,
    tmpName: (prefix) => `${prefix}_${++counter}`,
  };
  record.durations_ms = {};
  const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    progress.begin(stage);
    try {
      return await fn();
    } finally {
      record.durations_ms[stage] = (record.durations_ms[stage] ?? 0) + Math.round(performance.now() - t0);
    }
  };

  try {
    const source = options.source ?? createSource(pipelineConfig.source);
    const extracted = await timed("extract", () => source.extract(ctx));
    record.source = extracted.description;
    record.rows.extracted = extracted.rows + (extracted.unparseable?.rows ?? 0);
    log.info(`extracted ${extracted.rows + (extracted.unparseable?.rows ?? 0)} rows from ${extracted.description}`);

    // One scan checks, casts and stages the batch when nothing between the contract and the sinks
    // needs the valid rows first: no transforms (they need positions), dedup none (keeps every row,
    // so the staged count tells whether any row failed), a contract to check. Otherwise, and when
    // that scan finds failures, the batch is loaded and checked row by row first.
    const deferrable =
      ctx.contract !== undefined &&
      pipelineConfig.validation !== "off" &&
      pipelineConfig.transforms.length === 0 &&
      pipelineConfig.dedup.strategy === "none" &&
      !extracted.unparseable;
    const loadBatch = async (): Promise<LoadedBatch> =>
      extracted.materialize ? await timed("extract", extracted.materialize) : extracted;
    let input: LoadedBatch = deferrable ? extracted : await loadBatch();

    const sinks = pipelineConfig.sinks
      .filter((s) => !(s.type === "duckdb" && options.syncDuckdb === false))
      .map((s) => createSink(s));
    // Only strategies that compare against the target read it: that is a full copy of a warehouse
    // table, and a locked warehouse must not fail a `dedup: none` run whose duckdb sink warns.
    // A window or full export is the dataset as the source holds it (`complete`): dedup within the
    // batch only, so rows that left the window, or came from another database, do not stay forever.
    const target =
      pipelineConfig.dedup.strategy === "none" || extracted.complete ? undefined : sinks.find((s) => s.existing);
    const existing = target?.existing ? await target.existing(ctx) : undefined;

    const prepare = async (batch: LoadedBatch, deferred: boolean) => {
      record.rows.extracted = batch.rows + (batch.unparseable?.rows ?? 0);
      const transformed = await timed("transform", () => applyTransformSteps(ctx, batch.relation, batch.rows));
      record.rows.filtered = transformed.filtered;

      const validated = await timed("validate", () =>
        validateBatch(ctx, transformed.relation, batch.unparseable, { rows: transformed.rows, deferred }),
      );
      record.rows.valid = validated.validRows;
      record.rows.quarantined = validated.quarantinedRows;
      record.warnings.push(...(validated.warnings ?? []));

      const deduped = await timed("dedup", () =>
        dedupBatch(ctx, validated.valid, existing, extracted.extent, validated.validRows),
      );
      record.rows.duplicates = deduped.duplicates;
      record.rows.duplicates_dropped = deduped.dropped;
      record.rows.written = deduped.batchRows;
      if (deduped.keys) record.rows.keys = deduped.keys;
      else delete record.rows.keys;

      const final = ctx.tmpName("final");
      await timed("lineage", async () => {
        const cols = (await engine.columns(deduped.relation))
          .map((c) => c.name)
          .filter((c) => c !== "_source_pos" && c !== "_source_row");
        await engine.run(
          `CREATE VIEW ${final} AS SELECT ${lineageSelect(ctx, cols)} FROM ${
            cols.length > 0 ? `(SELECT ${cols.map(ident).join(", ")} FROM ${deduped.relation})` : deduped.relation
          }`,
          "lineage",
        );
      });
      const staged = await timed("stage", () =>
        stageBatch(ctx, final, tmpDir, pipelineConfig.sinks, { keepFiltersAbove: validated.deferred !== undefined }),
      );
      const check = validated.deferred;
      const confirmed: Confirmation = check
        ? await timed("validate", () => check.confirm(staged.relation, staged.rows))
        : { passed: true, distinct: {} };
      return { staged, extent: deduped.extent, confirmed, quarantine: validated.quarantineStaged };
    };

    let batch = await prepare(input, deferrable).catch((err: unknown) => {
      // A lazy read fails in the staging scan (e.g. a malformed line): load it, which reports it properly.
      if (!deferrable || !extracted.materialize) throw err;
      log.debug(`staging the lazy batch failed (${err instanceof Error ? err.message : String(err)}); loading it`);
      return undefined;
    });
    if (!batch?.confirmed.passed) {
      if (batch) log.info("some rows failed the contract; checking the batch row by row");
      if (batch) removeQuietly(batch.staged.path);
      input = await loadBatch();
      batch = await prepare(input, false);
    }
    const { staged } = batch;

    const outputs: SinkOutput[] = [];
    await timed("write", async () => {
      for (const sink of sinks) {
        const out = await sink.write(ctx, staged.relation, { extent: batch.extent, staged }, outputs);
        outputs.push(out);
        if (out.warning) record.warnings.push(`${out.sink}: ${out.warning}`);
        log.info(`${out.status} ${out.rows} rows -> ${out.path ?? out.table ?? out.sink}`);
      }
    });
    record.outputs = outputs;
    record.rows.dataset = datasetRows(batch.extent, staged.rows, ledger.lastSucceeded(pipeline));
    publishRunQuarantine(loaded, pipeline, runId, options, batch.quarantine, record, log);

    record.metrics = await timed("metrics", () =>
      computeMetrics(ctx, staged.relation, record, ledger.lastSucceeded(pipeline), {
        distinct: batch.confirmed.distinct,
      }),
    );
    record.alerts = evaluateAlerts(pipelineConfig.alerts, record, { failedOnly: false });
    record.warnings.push(...alertRuleProblems(pipelineConfig.alerts, record));

    if (extracted.nextState) record.state = { ...ctx.state, ...extracted.nextState };
  } finally {
    engine.close();
    removeQuietly(tmpDir);
  }
}

function oneLine(sql: string, max: number): string {
  const line = sql.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/**
 * Saves the run record. A record that cannot be written (disk full) must not hide the run's own
 * outcome: the failure is logged with the path, set on the record, and the run's status becomes
 * failed so that the state does not move without a record.
 */
function saveRecord(ledger: Ledger, record: RunRecord, log: Logger): void {
  try {
    ledger.save(record);
  } catch (err) {
    const e = asSluiceError(err, "ledger", "record");
    log.error(
      `could not write the run record to ${ledger.fileOf(record)}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`,
    );
    record.status = "failed";
    record.error ??= { message: `could not write the run record: ${e.message}`, component: "ledger", stage: "record" };
    delete record.state;
  }
}
