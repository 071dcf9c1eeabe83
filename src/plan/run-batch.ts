import { type Confirmation, type ValidationResult, validateBatch } from "../contracts/validate-batch.js";
import { dedupBatch } from "../dedup/dedup-batch.js";
import { ident } from "../engine/sql.js";
import { SOURCE_POS, SOURCE_ROW } from "../engine/system-columns.js";
import { computeMetrics } from "../quality/compute-metrics.js";
import type { SinkDedup, SinkOutput, WriteIntent } from "../sinks/sink.js";
import type { ExtractResult, LoadedBatch } from "../sources/source.js";
import { removeQuietly } from "../util/atomic.js";
import type { RunContext } from "./batch-context.js";
import type { BatchObserver, BatchOutcome } from "./batch-outcome.js";
import type { BatchPlan } from "./batch-plan.js";
import { datasetRows } from "./dataset-rows.js";
import { keepSinkRejects, type SinkRejects, stageDeadLetters } from "./dead-letter-file.js";
import { type DedupGroup, dedupReport } from "./dedup-groups.js";
import { dedupTarget } from "./dedup-target.js";
import { transformBatch } from "./enrich-staging.js";
import { lineageSelect } from "./lineage.js";
import type { RunRecord } from "./run-record.js";
import { type StagedBatch, stageBatch } from "./stage-batch.js";
import { tapBatch } from "./verdict-rows.js";

type Rows = RunRecord["rows"];

/**
 * Runs one loaded batch through the plan: transforms -> contract -> dedup -> lineage -> stage ->
 * sinks -> metrics, in the engine of `ctx` (which must outlive the call; relations the batch made
 * are dropped before it returns). The sinks commit `ctx.batchId` with the rows and skip a batch
 * they already hold. Touches no retries, state, ledger or alerts: the driver commits what this
 * returns. Throws for a failed batch (ValidationFailedError in strict mode).
 */
export async function runBatch(
  ctx: RunContext,
  plan: BatchPlan,
  input: ExtractResult,
  observer: BatchObserver,
): Promise<BatchOutcome> {
  const rows: Rows = {
    extracted: 0,
    filtered: 0,
    valid: 0,
    quarantined: 0,
    duplicates: 0,
    duplicates_dropped: 0,
    written: 0,
  };
  const warnings: string[] = [];
  const mark = await ctx.engine.mark();
  try {
    const prepared = await prepareBatch(ctx, plan, input, observer, rows, warnings);
    const { staged } = prepared;
    const rejects: SinkRejects[] = [];
    const outputs = await observer.timed("write", () => commitSinks(ctx, plan, prepared.passes, observer, rejects));
    for (const o of outputs) if (o.warning) warnings.push(`${o.sink}: ${o.warning}`);
    // Dead letters: the enrichment's (fixed with the batch) and the rows sinks refused, one file.
    const deadFiles = [...prepared.deadLetters.files, ...rejects.map((r) => r.file)];
    const deadLetters = deadFiles.length
      ? await observer.timed("deadletter", () => stageDeadLetters(ctx, deadFiles))
      : undefined;
    if (deadLetters || rows.dead_lettered !== undefined) rows.dead_lettered = deadLetters?.rows ?? 0;
    if (observer.onValidated) await tapBatch(ctx, observer.onValidated, prepared.valid, prepared.quarantine, rows);
    const added = prepared.intent.extent === "upsert" ? (prepared.newKeys ?? 0) : staged.rows;
    rows.dataset = datasetRows(prepared.intent.extent, added, observer.previous);
    observer.onRows?.(rows);
    const metrics = await observer.timed("metrics", () =>
      computeMetrics(ctx, staged.relation, { rows }, observer.previous, { distinct: prepared.confirmed.distinct }),
    );
    return {
      rows,
      outputs,
      agreed: outputs.every((o) => o.status !== "skipped"),
      ...(prepared.quarantine ? { quarantine: prepared.quarantine } : {}),
      ...(deadLetters ? { deadLetters } : {}),
      metrics,
      warnings,
    };
  } finally {
    await ctx.engine.dropSince(mark);
  }
}

/** One dedup group's pass: its relation staged, how its sinks apply it, what dedup did. */
interface GroupPass {
  readonly group: DedupGroup;
  readonly staged: StagedBatch;
  readonly intent: Pick<WriteIntent, "extent" | "basis">;
  readonly report: SinkDedup;
}

/** The first group's pass (the top-level counts), and every group's. */
interface Prepared {
  readonly passes: readonly GroupPass[];
  readonly staged: StagedBatch;
  /** How the sinks apply the batch (see WriteIntent), without its id and staged file. */
  readonly intent: Pick<WriteIntent, "extent" | "basis">;
  /** upsert: rows of keys the target did not hold (the dataset grows by these). */
  readonly newKeys: number | undefined;
  readonly confirmed: Confirmation;
  readonly quarantine: string | undefined;
  /** The rows that passed the contract (before dedup), for a tap. */
  readonly valid: string;
  /** Records the transforms dead-lettered (an `http` step's), fixed with the batch (enrich-staging.ts). */
  readonly deadLetters: { readonly files: readonly string[]; readonly rows: number };
}

/**
 * transforms -> contract -> dedup -> lineage -> stage. One scan checks, casts and stages the batch
 * when nothing between the contract and the sinks needs the valid rows first (a contract, no
 * transforms, dedup none, nothing unparseable); otherwise, and when that scan finds failures, the
 * batch is loaded and checked row by row first.
 */
async function prepareBatch(
  ctx: RunContext,
  plan: BatchPlan,
  input: ExtractResult,
  { timed, onRows }: BatchObserver,
  rows: Rows,
  warnings: string[],
): Promise<Prepared> {
  const { config } = plan;
  const undeduped = plan.groups.every((g) => g.dedup.strategy === "none");
  const direct = config.transforms.length === 0 && undeduped && !input.unparseable;
  const deferrable = direct && plan.contract !== undefined && config.validation !== "off";
  // The plain copy: nothing to check or change, so the batch goes from the source's (lazy) relation
  // through lineage into the staged file in one scan; a staged count that differs means the lazy
  // read saw something else, and the batch is loaded instead.
  const plain = direct && plan.contract === undefined && config.validation === "off";
  const load = async (): Promise<LoadedBatch> =>
    input.materialize ? await timed("extract", input.materialize) : input;

  const prepare = async (batch: LoadedBatch, deferred: boolean, copy = false): Promise<Prepared> => {
    rows.extracted = batch.rows + (batch.unparseable?.rows ?? 0);
    const transformed = await timed("transform", () => transformBatch(ctx, batch.relation, batch.rows));
    rows.filtered = transformed.filtered;
    if (config.transforms.some((t) => t.type === "http")) rows.dead_lettered = transformed.deadLetters.rows;
    const validated: ValidationResult = copy
      ? { valid: transformed.relation, validRows: transformed.rows, quarantinedRows: 0 }
      : await timed("validate", () =>
          validateBatch(ctx, transformed.relation, batch.unparseable, { rows: transformed.rows, deferred }),
        );
    rows.valid = validated.validRows;
    rows.quarantined = validated.quarantinedRows;
    onRows?.(rows);
    // One dedup pass per strategy, each against its own sinks' rows (plan.groups: one group unless
    // sinks have strategies of their own); the first group's counts are the run's.
    const passes: GroupPass[] = [];
    let firstResult: Awaited<ReturnType<typeof dedupBatch>> | undefined;
    for (const group of plan.groups) {
      const dedupCtx = { engine: ctx.engine, tmpName: ctx.tmpName.bind(ctx), pipelineConfig: { dedup: group.dedup } };
      const target = await timed("dedup", () => dedupTarget(ctx, group, input, validated.valid));
      const deduped = await timed("dedup", () =>
        dedupBatch(dedupCtx, validated.valid, target.existing, input.extent, validated.validRows, target.delta),
      );
      firstResult ??= deduped;
      const final = await timed("lineage", () => withLineage(ctx, deduped.relation));
      const sinkConfigs = group.sinkConfigs.length > 0 ? group.sinkConfigs : config.sinks;
      const staged = await timed("stage", () =>
        stageBatch(ctx, final, ctx.scratchDir, sinkConfigs, { keepFiltersAbove: validated.deferred !== undefined }),
      );
      const intent = { extent: deduped.extent, ...(target.basis ? { basis: target.basis } : {}) };
      passes.push({ group, staged, intent, report: dedupReport(group.dedup.strategy, deduped) });
    }
    const deduped = firstResult!;
    const { staged, intent } = passes[0]!;
    Object.assign(rows, {
      duplicates: deduped.duplicates,
      duplicates_dropped: deduped.dropped,
      written: deduped.batchRows,
    });
    if (deduped.keys) rows.keys = deduped.keys;
    else delete rows.keys;
    const check = validated.deferred;
    const confirmed = check
      ? await timed("validate", () => check.confirm(staged.relation, staged.rows))
      : { passed: !copy || staged.rows === batch.rows, distinct: {} };
    if (confirmed.passed) warnings.push(...(validated.warnings ?? []));
    const quarantine = validated.quarantineStaged;
    const { deadLetters } = transformed;
    return {
      passes,
      staged,
      intent,
      confirmed,
      quarantine,
      newKeys: deduped.keys?.new,
      valid: validated.valid,
      deadLetters,
    };
  };

  const lazy = deferrable || plain;
  const first = await prepare(lazy ? input : await load(), deferrable, plain).catch((err: unknown) => {
    // A lazy read fails in the staging scan (a malformed line, a value its type does not fit):
    // loading it reports it properly, or widens the types.
    if (!lazy || !input.materialize) throw err;
    ctx.log.debug(`staging the lazy batch failed (${err instanceof Error ? err.message : String(err)}); loading it`);
    return undefined;
  });
  if (first?.confirmed.passed) return first;
  if (first) {
    ctx.log.info(
      plain
        ? "the lazy read counted other rows; loading the batch"
        : "some rows failed the contract; checking the batch row by row",
    );
    for (const pass of first.passes) removeQuietly(pass.staged.path);
  }
  return prepare(await load(), false);
}

/** The lineage columns added in SQL (a view: no copy); `_source_pos`/`_source_row` dropped. */
async function withLineage(ctx: RunContext, relation: string): Promise<string> {
  const final = ctx.tmpName("final");
  const cols = (await ctx.engine.columns(relation))
    .map((c) => c.name)
    .filter((c) => c !== SOURCE_POS && c !== SOURCE_ROW);
  const from = cols.length > 0 ? `(SELECT ${cols.map(ident).join(", ")} FROM ${relation})` : relation;
  await ctx.engine.run(`CREATE VIEW ${final} AS SELECT ${lineageSelect(ctx, cols)} FROM ${from}`, "lineage");
  return final;
}

/**
 * Every sink in order, each committing the batch id with the rows (or reporting `held`): the rows
 * and intent of its dedup group, and as `previous` the outputs of its group's sinks before it (a
 * duckdb view reads those files).
 */
async function commitSinks(
  ctx: RunContext,
  plan: BatchPlan,
  passes: readonly GroupPass[],
  observer: BatchObserver,
  rejects: SinkRejects[],
): Promise<SinkOutput[]> {
  const outputs: SinkOutput[] = [];
  const byGroup = new Map<GroupPass, SinkOutput[]>(passes.map((p) => [p, []]));
  for (const sink of plan.sinks) {
    const pass = passes.find((p) => p.group.sinks.includes(sink)) ?? passes[0]!;
    const { staged, intent: applied, group } = pass;
    const key = applied.extent === "upsert" ? { key: group.dedup.key ?? [] } : {};
    const intent: WriteIntent = { ...applied, ...key, staged, batchId: ctx.batchId };
    const previous = byGroup.get(pass)!;
    const written = await sink.write(ctx, staged.relation, intent, previous);
    const rejected = await keepSinkRejects(ctx, plan.sinks.indexOf(sink), written);
    if (rejected) rejects.push(rejected);
    const out: SinkOutput =
      plan.groups.length > 1 || group.dedup.strategy !== "none" ? { ...written, dedup: pass.report } : written;
    previous.push(out);
    outputs.push(out);
    observer.onOutput?.(out);
    ctx.log.info(`${out.status} ${out.rows} rows -> ${out.path ?? out.table ?? out.sink}`);
  }
  return outputs;
}
