import type { LoadedConfig } from "../config/load-config.js";
import { readHintsFor } from "../contracts/read-hints.js";
import { Engine } from "../engine/engine.js";
import type { RunContext } from "../plan/batch-context.js";
import type { StageTimer } from "../plan/batch-outcome.js";
import type { BatchPlan } from "../plan/batch-plan.js";
import { runBatch } from "../plan/run-batch.js";
import type { RunRecord } from "../plan/run-record.js";
import { createSource } from "../sources/registry.js";
import { removeQuietly } from "../util/atomic.js";
import { failpoint } from "../util/failpoint.js";
import type { Logger } from "../util/logger.js";
import type { Progress } from "../util/progress.js";
import { committedState, pendingBatch, recordIntent } from "./pending-batch.js";
import { publishDeadLetterBroker } from "./publish-dead-letter-broker.js";
import { deadLetterFile, publishRunDeadLetters } from "./publish-run-dead-letters.js";
import { publishRunQuarantine } from "./publish-run-quarantine.js";
import type { RunPipelineOptions } from "./run-pipeline.js";
import { scratchDir } from "./scratch-dir.js";
import type { StateStore } from "./state-store.js";

/** What one attempt of a run needs from its driver. */
export interface AttemptEnv {
  readonly loaded: LoadedConfig;
  readonly plan: BatchPlan;
  readonly options: RunPipelineOptions;
  readonly log: Logger;
  readonly stateStore: StateStore;
  readonly timed: StageTimer;
  readonly previous: RunRecord | undefined;
  readonly attempt: number;
  readonly progress: Progress;
}

/**
 * One attempt of a batch run: extract -> plan -> commit. The batch's id is fixed before any sink
 * writes: a pending batch (an interrupted earlier attempt or run) is finished first, with its id
 * and read range; a new incremental batch records that intent before the sinks run. The state
 * moves (on the record, committed by the driver after the ledger) only when every sink holds the
 * batch; the quarantine file is published with it. Throws for a failed attempt.
 */
export async function runAttempt(env: AttemptEnv, record: RunRecord): Promise<void> {
  const { loaded, plan, options, log } = env;
  const scratch = scratchDir(loaded.dataDir, record.run_id);
  const engine = await openEngine(loaded, scratch, log);
  try {
    const stateKey = options.stateKey ?? plan.pipeline;
    const state = env.stateStore.load(stateKey);
    const pending = options.source ? undefined : pendingBatch(state);
    let ctx = batchContext(
      env,
      record,
      engine,
      scratch,
      state,
      options.batchId ?? pending?.batch_id ?? record.run_id,
      pending?.until,
    );
    record.batch_id = ctx.batchId;
    if (pending) log.info(`finishing batch ${pending.batch_id} of run ${pending.run_id} before reading further`);
    const source = options.source ?? options.liveSource ?? createSource(plan.config.source);
    const input = await env.timed("extract", () => source.extract(ctx));
    if (!pending && !options.batchId && input.batchId) {
      // The source names the batch by what it holds (a stream's positions): the same id when read again.
      ctx = { ...ctx, batchId: input.batchId };
      record.batch_id = input.batchId;
    }
    record.source = input.description;
    log.info(`extracted ${input.rows + (input.unparseable?.rows ?? 0)} rows from ${input.description}`);
    const until = pending?.until ?? input.nextState;
    if (!pending && until && input.extent === "append" && !options.source) {
      recordIntent(env.stateStore, stateKey, state, { batch_id: ctx.batchId, run_id: record.run_id, until });
      failpoint("after:intent");
    }
    const outcome = await runBatch(ctx, plan, input, {
      timed: env.timed,
      previous: env.previous,
      onValidated: options.onValidated,
      onRows: (rows) => Object.assign(record.rows, rows),
      onOutput: (out) => {
        record.commits?.push({ sink: out.sink, status: out.status, rows: out.rows, attempt: env.attempt });
        failpoint(`after:sink:${plan.sinks.findIndex((s) => s.name === out.sink)}`);
      },
    });
    Object.assign(record, { rows: outcome.rows, metrics: outcome.metrics, outputs: [...outcome.outputs] });
    record.warnings.push(...outcome.warnings);
    if (!outcome.agreed) {
      // The state stays (a new batch stays pending): the next run finishes the batch in these sinks.
      const missing = outcome.outputs.filter((o) => o.status === "skipped").map((o) => o.sink);
      record.sinks_disagree = { batch_id: ctx.batchId, missing };
      log.warn(`sinks disagree: ${missing.join(", ")} do not hold batch ${ctx.batchId}; the next run repairs them`);
      return;
    }
    publishRunQuarantine(loaded, plan.pipeline, record.run_id, options, outcome.quarantine, record, log);
    publishRunDeadLetters(loaded.dataDir, plan.pipeline, ctx.batchId, outcome.deadLetters, record, log);
    failpoint("after:deadletter-file");
    // Also to the `dead_letter.to` broker, from the published file, unless it marked the batch.
    await publishDeadLetterBroker(
      { engine, pipeline: plan.pipeline, batchId: ctx.batchId, scratchDir: scratch, now: ctx.startedAt, log },
      plan.config.dead_letter,
      deadLetterFile(loaded.dataDir, plan.pipeline, ctx.batchId),
    );
    failpoint("after:quarantine");
    if (until || pending) record.state = committedState(state, until ?? {});
  } finally {
    engine.close();
    removeQuietly(scratch);
  }
}

function batchContext(
  env: AttemptEnv,
  record: RunRecord,
  engine: Engine,
  scratch: string,
  state: Readonly<Record<string, unknown>>,
  batchId: string,
  until: Readonly<Record<string, unknown>> | undefined,
): RunContext {
  const { loaded, plan, options } = env;
  let counter = 0;
  return {
    runId: record.run_id,
    batchId,
    pipeline: plan.pipeline,
    config: loaded.config,
    pipelineConfig: plan.config,
    contract: plan.contract,
    engine,
    dataDir: loaded.dataDir,
    scratchDir: scratch,
    configDir: loaded.dir,
    warehousePath: loaded.warehousePath,
    startedAt: new Date(record.started_at),
    processingType: record.processing_type,
    options,
    state,
    readHints: readHintsFor(plan.contract, plan.config.transforms.length > 0),
    ...(until ? { until } : {}),
    log: env.log,
    progress: env.progress,
    tmpName: (prefix) => `${prefix}_${++counter}`,
  };
}

async function openEngine(loaded: LoadedConfig, scratch: string, log: Logger): Promise<Engine> {
  const { engine } = loaded.config;
  return Engine.open({
    tempDirectory: scratch,
    ...(engine.memory_limit ? { memoryLimit: engine.memory_limit } : {}),
    ...(engine.threads ? { threads: engine.threads } : {}),
    ...(log.isLevelEnabled("debug")
      ? { onQuery: (sql: string, ms: number) => log.debug(`engine: ${Math.round(ms)} ms: ${oneLine(sql)}`) }
      : {}),
  });
}

function oneLine(sql: string, max = 240): string {
  const line = sql.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}
