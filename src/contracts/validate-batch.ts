import type { Engine } from "../engine/engine.js";
import { ident, literal } from "../engine/sql.js";
import { isFailMarker, SOURCE_POS, SOURCE_ROW } from "../engine/system-columns.js";
import { ConfigError, SluiceError, ValidationFailedError } from "../errors.js";
import { protectsPii } from "../transforms/pii.js";
import { asidePath, publish, removeQuietly } from "../util/atomic.js";
import { type CompiledContract, compileContract, contractName } from "./compile-contract.js";
import type { ContractContext } from "./contract-context.js";
import { naturalOrder, quarantineRelPath, reportFile } from "./quarantine-file.js";
import { stageQuarantine } from "./stage-quarantine.js";

export interface ValidationResult {
  /**
   * Rows that passed, typed as the contract says (contract columns in
   * contract order, then kept extra columns), `_source_pos` kept, plus
   * `_source_row` (BIGINT, source order) for dedup, which drops it.
   */
  readonly valid: string;
  readonly validRows: number;
  /** Rows quarantined (quarantine mode) — failing and unparseable rows. */
  readonly quarantinedRows: number;
  /** Where the quarantine file is published, relative to data_dir like sink output paths. */
  readonly quarantinePath?: string;
  /**
   * The quarantine file as written, in the run's scratch folder: not visible until the runner
   * publishes it (`publishQuarantine`) after every sink committed the batch.
   */
  readonly quarantineStaged?: string;
  /** Things the user should know that did not fail the run (e.g. values nulled by casts with validation off). */
  readonly warnings?: readonly string[];
  /** Set when the checks were deferred (ValidateOptions.deferred): the counts above hold only once confirmed. */
  readonly deferred?: DeferredCheck;
}

export interface ValidateOptions {
  /** Rows of the input when the caller knows them: saves a scan of a lazy input (a view over files). */
  readonly rows?: number;
  /**
   * Defer the checks to the scan that stages the valid rows: `valid` keeps the rows that pass, in the
   * same pass that casts and writes them, and nothing is counted or quarantined here. For callers
   * whose later stages keep every valid row (dedup `none`), so the staged row count tells whether any
   * row failed. Ignored without a contract, in mode `off`, or when there are unparseable records
   * to quarantine anyway.
   */
  readonly deferred?: boolean;
}

/**
 * The second half of a deferred validation. The caller stages the valid rows, then calls
 * `confirm(staged, rows)` with the staged relation and its row count. `passed`: no row failed (every
 * input row was staged, and no `unique` value occurs twice), so validRows and quarantinedRows are
 * final. Otherwise some row failed: validate again without deferring, which finds, reports and
 * quarantines them.
 */
export interface DeferredCheck {
  confirm(staged: string, stagedRows: number): Promise<Confirmation>;
}

export interface Confirmation {
  readonly passed: boolean;
  /** Distinct non-NULL values of each `unique` column in the staged rows (the metrics reuse them). */
  readonly distinct: Readonly<Record<string, number>>;
}

/** How many failures the strict error message lists. */
const SHOWN_FAILURES = 10;

/**
 * Checks the batch against the pipeline's contract in the pipeline's
 * validation mode (SPEC section 7).
 *
 * Contract: input rows + unparseable rows = validRows + quarantinedRows,
 * always. strict: any failure throws ValidationFailedError (exit 3) after
 * writing the report; nothing else is written. quarantine: failing rows are
 * written to a file in the run's scratch folder (`quarantineStaged`), published as
 * quarantine/<pipeline>/<run_id>.parquet by the runner with the commit. off: no checks, but
 * unparseable records still fail the run (exit 1) — they are never dropped.
 * In every mode the valid rows have the contract's shape (types, extra
 * columns); with `off`, values that do not cast become NULL and are counted
 * in `warnings`.
 *
 * How: every rule of every column compiles into one SELECT that keeps only
 * failing rows, each with the list of rules it broke (plus one small
 * GROUP BY per `unique` column). The valid rows are a view over the input
 * minus those rows: they are materialized once, downstream. Deferred
 * (options.deferred), the checks run inside that downstream scan instead and
 * the failing rows are only looked for when the staged count says some exist.
 */
export async function validateBatch(
  ctx: ContractContext,
  relation: string,
  unparseable: { relation: string; rows: number } | undefined,
  options: ValidateOptions = {},
): Promise<ValidationResult> {
  const mode = ctx.pipelineConfig.validation;
  const unp = unparseable && unparseable.rows > 0 ? unparseable : undefined;
  if (mode === "off" && unp) {
    const first = await ctx.engine.all<{ _source_pos: string; _error: string }>(
      `SELECT _source_pos, _error FROM ${unp.relation} LIMIT 5`,
    );
    throw new SluiceError(
      `${unp.rows} record(s) could not be parsed: ${first.map((r) => `${r._source_pos}: ${r._error}`).join("; ")}`,
      {
        component: "source",
        stage: "extract",
        hint: "fix the malformed lines, or set `validation: quarantine` to quarantine them and write the rest",
      },
    );
  }

  const { engine } = ctx;
  const columns = (await engine.columns(relation)).filter((c) => c.name !== SOURCE_ROW);
  const inputRows = options.rows ?? (await engine.count(relation));
  const pos = (rowid: string) =>
    columns.some((c) => c.name === SOURCE_POS) ? `${ident(SOURCE_POS)}::VARCHAR` : `'row ' || (${rowid} + 1)::VARCHAR`;
  const contract = ctx.contract;
  const compiled = contract
    ? compileContract(contract, columns, {
        name: contractName(ctx.pipelineConfig.contract),
        startedAt: ctx.startedAt,
        dedup: ctx.pipelineConfig.dedup,
      })
    : undefined;
  const select = compiled
    ? compiled.outputSelect.join(", ")
    : columns
        .filter((c) => c.name !== SOURCE_POS && !isFailMarker(c.name))
        .map((c) => ident(c.name))
        .join(", ");
  const validView = async (exclude: string | undefined) => {
    const numbered = await numberedRows(ctx, relation, columns);
    const name = ctx.tmpName("valid");
    const list = [
      select,
      `${pos("__sluice_row")} AS ${ident(SOURCE_POS)}`,
      `__sluice_row AS ${ident(SOURCE_ROW)}`,
    ].filter(Boolean);
    await engine.run(
      `CREATE VIEW ${name} AS SELECT ${list.join(", ")} FROM ${numbered}${exclude ? ` WHERE __sluice_row NOT IN (SELECT __sluice_row FROM ${exclude})` : ""}`,
      "validate",
    );
    return name;
  };

  if (mode === "off") {
    const warnings = compiled ? await castWarnings(ctx, relation, compiled) : [];
    return {
      valid: await validView(undefined),
      validRows: inputRows,
      quarantinedRows: 0,
      ...(warnings.length ? { warnings } : {}),
    };
  }

  if (compiled?.hasChecks) {
    await checkPatterns(engine, contract?.columns ?? {}, contractName(ctx.pipelineConfig.contract));
  }
  if (options.deferred && compiled && !unp && compiled.uniqueChecks.every((u) => !u.otherKeyParts)) {
    return { ...(await deferredView(ctx, relation, compiled, inputRows)), validRows: inputRows, quarantinedRows: 0 };
  }

  let failing: string | undefined;
  let failingRows = 0;
  if (compiled?.hasChecks) {
    const numbered = await numberedRows(ctx, relation, columns);
    failing = await findFailures(ctx, relation, numbered, compiled, pos("__sluice_row"));
    failingRows = await engine.count(failing);
  }
  const failed = failingRows + (unp?.rows ?? 0);
  if (failed === 0) {
    return { valid: await validView(undefined), validRows: inputRows, quarantinedRows: 0 };
  }

  const failures = failuresRelation(failing, unp, rawTextOf(ctx));
  if (mode === "strict") {
    const reportPath = reportFile(ctx.dataDir, ctx.pipeline, ctx.runId);
    await writeAside(reportPath, (aside) =>
      engine.run(
        `COPY (SELECT row_key, "column", rule, value, detail, source_pos FROM (${failures}) ORDER BY ${naturalOrder("source_pos")}, __sluice_i) TO ${literal(aside)} (FORMAT csv, HEADER)`,
        "validate",
      ),
    );
    const shown = await engine.all<Record<string, string | null>>(
      `SELECT * FROM (${failures}) ORDER BY ${naturalOrder("source_pos")}, __sluice_i LIMIT ${SHOWN_FAILURES}`,
      "validate",
    );
    const total = await engine.one<{ n: bigint }>(`SELECT count(*) AS n FROM (${failures})`, "validate");
    const lines = shown.map(
      (f) =>
        `  ${f.source_pos ?? "?"}: ${f.column ? `${f.column} ` : ""}${f.rule}${f.value == null ? "" : ` ${show(f.value)}`}${f.detail ? ` (${f.detail})` : ""}`,
    );
    const more = Number(total?.n ?? 0) - shown.length;
    const what = contract ? `failed contract \`${contractName(ctx.pipelineConfig.contract)}\`` : "could not be parsed";
    throw new ValidationFailedError(
      [
        `${failed} of ${inputRows + (unp?.rows ?? 0)} rows ${what}; nothing was written:`,
        ...lines,
        ...(more > 0 ? [`  ... and ${more} more failures in ${reportPath}`] : []),
      ].join("\n"),
      reportPath,
      failed,
    );
  }

  // quarantine mode: staged in the scratch folder; the runner publishes it with the batch's commit.
  const staged = await stageQuarantine(ctx, failing, unp, rawTextOf(ctx));
  return {
    valid: await validView(failing),
    validRows: inputRows - failingRows,
    quarantinedRows: failed,
    quarantinePath: quarantineRelPath(ctx.pipeline, ctx.runId),
    quarantineStaged: staged,
  };
}

/**
 * The deferred form of the checks: a view of the typed rows that break no rule, with every rule
 * evaluated inline (NULL counts as passing, as in the eager query, where a rule fails only when its
 * condition is TRUE). `unique` cannot be judged row by row: it is checked on the staged rows, where
 * a value occurring twice means some rows failed.
 */
async function deferredView(
  ctx: ContractContext,
  relation: string,
  compiled: CompiledContract,
  inputRows: number,
): Promise<{ valid: string; deferred: DeferredCheck }> {
  const valid = ctx.tmpName("valid");
  const inner = [...compiled.typedSelect, ...compiled.uniqueChecks.map((u) => `FALSE AS ${u.flag}`)];
  await ctx.engine.run(
    `CREATE VIEW ${valid} AS SELECT ${compiled.typedOutputSelect.join(", ")}
       FROM (SELECT *, ${inner.join(", ")} FROM ${relation}) AS __sluice_in
      WHERE (${compiled.anyFailure}) IS NOT TRUE`,
    "validate",
  );
  const confirm = async (staged: string, stagedRows: number): Promise<Confirmation> => {
    if (stagedRows !== inputRows) return { passed: false, distinct: {} };
    const cols = compiled.uniqueChecks.map((u) => ident(u.column));
    if (cols.length === 0) return { passed: true, distinct: {} };
    // A value occurring twice: fewer distinct values than non-NULL ones.
    const row = await ctx.engine.one<Record<string, bigint>>(
      `SELECT ${cols.map((c, i) => `count(${c}) AS n${i}, count(DISTINCT ${c}) AS d${i}`).join(", ")} FROM ${staged}`,
      "validate",
    );
    const distinct: Record<string, number> = {};
    let passed = true;
    compiled.uniqueChecks.forEach((u, i) => {
      distinct[u.column] = Number(row?.[`d${i}`] ?? 0);
      if (Number(row?.[`n${i}`] ?? 0) !== distinct[u.column]) passed = false;
    });
    return { passed, distinct };
  };
  return { valid, deferred: { confirm } };
}

/**
 * A FROM item giving every row of `relation` plus `__sluice_row` (BIGINT,
 * 0-based position in source order), the same number in every scan: a base
 * table's rowid, else the row's position in the scan. A view must therefore
 * scan in a stable order — which a source's relation does (one row per
 * record, in source order; DuckDB keeps insertion order) — so the rows are
 * not copied here; they are materialized once, downstream.
 */
async function numberedRows(
  ctx: ContractContext,
  relation: string,
  columns: readonly { name: string }[],
): Promise<string> {
  const hasRowidColumn = columns.some((c) => c.name.toLowerCase() === "rowid");
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(relation) && !hasRowidColumn) {
    const found = await ctx.engine.one<{ n: bigint }>(
      `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = ${literal(relation)}`,
      "validate",
    );
    if (Number(found?.n ?? 0) > 0) return `(SELECT rowid AS __sluice_row, * FROM ${relation})`;
  }
  return `(SELECT row_number() OVER () - 1 AS __sluice_row, * FROM ${relation})`;
}

/** Writes `target` atomically: `write` fills a hidden aside path, which is renamed into place (or removed on failure). */
async function writeAside(target: string, write: (aside: string) => Promise<void>): Promise<void> {
  const aside = asidePath(target);
  try {
    await write(aside);
    publish(aside, target);
  } catch (err) {
    removeQuietly(aside);
    throw err;
  }
}

/** A bad regular expression is a config error naming the column, not a DuckDB error mid-run. */
async function checkPatterns(engine: Engine, columns: Record<string, { pattern?: string | undefined }>, name: string) {
  for (const [column, spec] of Object.entries(columns)) {
    if (spec.pattern === undefined) continue;
    try {
      await engine.run(`SELECT regexp_full_match('', ${literal(spec.pattern)})`, "validate");
    } catch (err) {
      throw new ConfigError(
        `contract \`${name}\`, column \`${column}\`: pattern ${spec.pattern} is not a valid regular expression (${(err as Error).message.split("\n")[0]})`,
        "patterns use RE2 syntax (no lookaround or backreferences)",
      );
    }
  }
}

/**
 * One pass over the batch keeping only failing rows: rowid, source position,
 * row key, original values as VARCHAR and `_failures`. `unique` columns are
 * first reduced to their duplicated values (small tables joined in).
 */
async function findFailures(
  ctx: ContractContext,
  relation: string,
  numbered: string,
  compiled: CompiledContract,
  pos: string,
): Promise<string> {
  const { engine } = ctx;
  const flags: string[] = [];
  for (const u of compiled.uniqueChecks) {
    const dups = ctx.tmpName("dups");
    const having = u.otherKeyParts
      ? `count(DISTINCT ${u.otherKeyParts.length === 1 ? u.otherKeyParts[0] : `row(${u.otherKeyParts.join(", ")})`}) > 1`
      : "count(*) > 1";
    await engine.run(
      `CREATE TABLE ${dups} AS SELECT ${u.typed} AS __sluice_dup FROM ${relation} WHERE ${u.typed} IS NOT NULL GROUP BY 1 HAVING ${having}`,
      "validate",
    );
    // A semi-join whose build side is the (small) set of duplicated values; none at all is the common case.
    const any = (await engine.count(dups)) > 0;
    flags.push(`${any ? `(${u.typed} IN (SELECT __sluice_dup FROM ${dups}))` : "FALSE"} AS ${u.flag}`);
  }
  const failing = ctx.tmpName("failing");
  const inner = [...compiled.typedSelect, ...flags];
  await engine.run(
    `CREATE TABLE ${failing} AS SELECT __sluice_row, ${pos} AS ${ident(SOURCE_POS)}, ${compiled.rowKey ?? "NULL::VARCHAR"} AS __sluice_key, ${[...compiled.originalSelect, `${compiled.failureList} AS _failures`].join(", ")}
     FROM (SELECT *${inner.length ? `, ${inner.join(", ")}` : ""} FROM ${numbered}) AS __sluice_in
     WHERE ${compiled.anyFailure}`,
    "validate",
  );
  return failing;
}

/** SQL over every failure, one row each: row_key, column, rule, value, detail, source_pos (+ a tiebreak). */
/**
 * The raw text of an unparseable record as written to quarantine and reports. When a `pii` step
 * protects columns, the raw line could hold those values in clear, so it is replaced by a notice:
 * the record is still counted and quarantined (with its position), never written in clear.
 */
function rawTextOf(ctx: ContractContext): string {
  return protectsPii(ctx.pipelineConfig.transforms)
    ? "'<withheld: this pipeline hashes PII, so the raw text of an unparseable record is not kept>'::VARCHAR"
    : "_raw::VARCHAR";
}

function failuresRelation(failing: string | undefined, unp: { relation: string } | undefined, rawText: string): string {
  const parts: string[] = [];
  if (failing) {
    parts.push(
      `SELECT coalesce(__sluice_key, ${ident(SOURCE_POS)}) AS row_key, f."column" AS "column", f.rule AS rule, f.value AS value, f.detail AS detail, ${ident(SOURCE_POS)} AS source_pos, __sluice_row * 1000 + f_i AS __sluice_i
       FROM (SELECT __sluice_key, ${ident(SOURCE_POS)}, __sluice_row, unnest(_failures) AS f, unnest(range(1, len(_failures) + 1)) AS f_i FROM ${failing})`,
    );
  }
  if (unp) {
    parts.push(
      `SELECT _source_pos::VARCHAR AS row_key, NULL::VARCHAR AS "column", 'unparseable' AS rule, ${rawText} AS value, _error::VARCHAR AS detail, _source_pos::VARCHAR AS source_pos, 0 AS __sluice_i FROM ${unp.relation}`,
    );
  }
  return parts.join(" UNION ALL ");
}

/** With validation off, values that do not cast become NULL: count them so the user hears of it. */
async function castWarnings(ctx: ContractContext, base: string, compiled: CompiledContract): Promise<string[]> {
  if (compiled.castable.length === 0) return [];
  const row = await ctx.engine.one<Record<string, bigint>>(
    `SELECT ${compiled.castable.map((c, i) => `count_if(${c.raw} IS NOT NULL AND ${c.typed} IS NULL) AS c${i}`).join(", ")} FROM ${base}`,
    "validate",
  );
  const warnings: string[] = [];
  compiled.castable.forEach((c, i) => {
    const n = Number(row?.[`c${i}`] ?? 0);
    if (n > 0)
      warnings.push(
        `column \`${c.column}\`: ${n} values did not cast to the contract type and were written as NULL (validation is off)`,
      );
  });
  for (const w of warnings) ctx.log.warn(w);
  return warnings;
}

function show(value: string): string {
  const v = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(v);
}
