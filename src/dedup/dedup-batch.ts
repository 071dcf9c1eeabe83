import type { DedupConfig } from "../config/spec.js";
import type { Engine } from "../engine/engine.js";
import { ident } from "../engine/sql.js";
import {
  COMPOSITE_HASH,
  DUPLICATE_MARK,
  LINEAGE_COLUMNS,
  PAYLOAD_HASH,
  SOURCE_POS,
  SOURCE_ROW,
} from "../engine/system-columns.js";
import { ConfigError } from "../errors.js";
import { sha256Of } from "./record-hashes.js";

/** What dedup may use of the run (the driver's context satisfies it): the engine, fresh names, its config. */
export interface DedupContext {
  readonly engine: Engine;
  /** A fresh relation name, e.g. tmpName("dedup") -> "dedup_3". */
  tmpName(prefix: string): string;
  /** The stage's config slice: the strategy and its key/order. */
  readonly pipelineConfig: { readonly dedup: DedupConfig };
}

export interface DedupResult {
  /** The rows to hand the sinks. */
  readonly relation: string;
  /**
   * `replace`: `relation` is the whole dataset (existing rows merged in); `append`: rows to add;
   * `upsert` (merge with `delta`): rows replacing the target's rows of the same key.
   */
  readonly extent: "replace" | "append" | "upsert";
  /** Rows of this batch that were duplicates of another row (in the batch or the target). */
  readonly duplicates: number;
  /** Of those, how many were dropped (bronze_append keeps them: 0). */
  readonly dropped: number;
  /** Of `duplicates`, those of a key seen earlier in the batch (the rest were seen in the target). */
  readonly withinBatch: number;
  /** bronze_append: rows kept with `_duplicate` true (absent when the target predates the mark). */
  readonly marked?: number;
  /** Rows of this batch present in `relation` (new or changed rows). */
  readonly batchRows: number;
  /**
   * merge/eager against a target: what the batch did to its keys. `new`: keys the target did not
   * hold; `changed`: held keys a batch row replaced (merge); `unchanged`: held keys left as they
   * were (merge: the batch row was not newer; eager: always). Absent without a target.
   */
  readonly keys?: { readonly new: number; readonly changed: number; readonly unchanged: number };
}

/** Columns that describe a row's history, not its content: never part of a payload. */
const NOT_PAYLOAD = new Set<string>([
  SOURCE_POS,
  SOURCE_ROW,
  COMPOSITE_HASH,
  PAYLOAD_HASH,
  DUPLICATE_MARK,
  ...LINEAGE_COLUMNS,
]);

/**
 * Applies the pipeline's dedup strategy (SPEC section 7) to the valid rows.
 *
 * `existing` is a FROM-expression over the rows the target already holds
 * (undefined on a first run). `extent` says whether the batch is the whole
 * dataset or a delta. Contract: the output never holds two rows with the
 * same key for merge/eager; rows in = rows out + dropped, counted.
 *
 * - `merge`: one row per key, the latest by `order_by` (ties: the later
 *   source position), also against the target: a batch row replaces the
 *   target's row only when it is newer, or as new with a different payload;
 *   an identical row leaves the target's row (and its lineage) in place.
 * - `eager`: the first occurrence per key in source order; keys the target
 *   already holds are dropped.
 * - `bronze_append`: every row, plus `_composite_hash` (key),
 *   `_payload_hash` (whole record) and `_duplicate` (its key was already
 *   seen earlier in the batch or in the target: the duplicates counted). A
 *   target written before the mark existed (no `_duplicate` column) gets
 *   rows without it: its schema stays as it is.
 * - `none`: the rows as they are.
 *
 * merge/eager with an `existing` target return the whole merged dataset
 * (`replace`), or with `delta` (sinks that apply changes in place) only what
 * changed: merge the batch rows that win (`upsert` by key), eager the rows
 * of keys the target lacks (`append`); `existing` then need only hold the
 * target's rows of the batch's keys. Target rows keep their columns (lineage included), batch rows
 * have NULL there for the lineage stage to fill; columns are aligned by name
 * and the target's cast to the batch's types. Rows whose key has a NULL part
 * identify nothing and are never duplicates (merge/eager). Work on keys is
 * done over narrow relations (row number, key, order, payload hash); the
 * wide rows are only filtered, in one view the lineage stage materializes.
 * `_source_row` (source order, from the contract stage) is consumed here and
 * never passed on.
 */
export async function dedupBatch(
  ctx: DedupContext,
  relation: string,
  existing: string | undefined,
  extent: "replace" | "append",
  rows?: number,
  delta = false,
): Promise<DedupResult> {
  const { engine } = ctx;
  const config = ctx.pipelineConfig.dedup;
  const columns = await engine.columns(relation);
  const names = columns.map((c) => c.name);
  if (config.strategy === "none") {
    // Nothing to compare: no row numbers, no scan (a lazy relation stays lazy).
    let out = relation;
    if (names.includes(SOURCE_ROW)) {
      out = ctx.tmpName("deduped");
      await engine.run(`CREATE VIEW ${out} AS SELECT * EXCLUDE (${ident(SOURCE_ROW)}) FROM ${relation}`, "dedup");
    }
    const batchRows = rows ?? (await engine.count(relation));
    return { relation: out, extent, duplicates: 0, dropped: 0, withinBatch: 0, batchRows };
  }
  let input = relation;
  if (!names.includes(SOURCE_ROW)) {
    input = ctx.tmpName("dedup_in");
    await engine.run(`CREATE VIEW ${input} AS SELECT *, row_number() OVER () AS ${ident(SOURCE_ROW)} FROM ${relation}`);
  }
  const inputRows = rows ?? (await engine.count(input));
  const out = ctx.tmpName("deduped");
  const row = ident(SOURCE_ROW);

  const key = checkedKey(config, names);
  const payload = names.filter((c) => !NOT_PAYLOAD.has(c));
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const target = existing ? await alignedExisting(ctx, existing, types) : undefined;
  const k = key.map(ident);
  const on = (a: string, b: string) => k.map((c) => `${a}.${c} = ${b}.${c}`).join(" AND ");
  const anyNull = k.map((c) => `${c} IS NULL`).join(" OR ");

  if (config.strategy === "bronze_append") {
    return bronzeAppend(ctx, { input, out, key, payload, names, target, existing, inputRows, extent });
  }

  // merge / eager: rank each key's rows over a narrow relation; NULL-key rows are each their own group.
  const nullGuard = `CASE WHEN ${anyNull} THEN ${row} END`;
  const order =
    config.strategy === "merge"
      ? `${config.order_by ? `${ident(config.order_by)} DESC NULLS LAST, ` : ""}${row} DESC`
      : `${row} ASC`;
  const ordered =
    config.strategy === "merge" && config.order_by && !key.includes(config.order_by) ? [ident(config.order_by)] : [];
  const ranked = ctx.tmpName("dedup_ranked");
  const hash = config.strategy === "merge" && target ? `, hash(${payload.map(ident).join(", ")}) AS __sluice_ph` : "";
  await engine.run(
    `CREATE TABLE ${ranked} AS SELECT ${[row, ...k, ...ordered].join(", ")}${hash},
       row_number() OVER (PARTITION BY ${k.join(", ")}, ${nullGuard} ORDER BY ${order}) AS __sluice_rn
     FROM ${input}`,
    "dedup",
  );

  // `drop`: batch rows not written; `replaced`: target keys a batch row supersedes (merge).
  const drop = ctx.tmpName("dedup_drop");
  let replaced: string | undefined;
  let targetHeld = 0;
  if (!target) {
    await engine.run(`CREATE TABLE ${drop} AS SELECT ${row} FROM ${ranked} WHERE __sluice_rn > 1`, "dedup");
  } else if (config.strategy === "eager") {
    const held = `(SELECT DISTINCT ${k.join(", ")} FROM ${target})`;
    await engine.run(
      `CREATE TABLE ${drop} AS
         SELECT ${row} FROM ${ranked} WHERE __sluice_rn > 1
         UNION ALL
         SELECT r.${row} FROM (SELECT * FROM ${ranked} WHERE __sluice_rn = 1) AS r SEMI JOIN ${held} AS e ON ${on("r", "e")}`,
      "dedup",
    );
  } else {
    const o = config.order_by ? ident(config.order_by) : undefined;
    const held = ctx.tmpName("dedup_held");
    await engine.run(
      `CREATE TABLE ${held} AS SELECT ${k.join(", ")}, ${o ? `max(${o})` : "NULL"} AS __sluice_eo, ${o ? `arg_max(__sluice_ph, ${o})` : "any_value(__sluice_ph)"} AS __sluice_eph
       FROM (SELECT ${k.join(", ")}${o ? `, ${o}` : ""}, hash(${payload.map(ident).join(", ")}) AS __sluice_ph FROM ${target})
       WHERE NOT (${anyNull}) GROUP BY ALL`,
      "dedup",
    );
    // The latest batch row of a key the target holds wins when newer, or as new when its payload differs.
    const newer = o
      ? `(r.${o} > e.__sluice_eo OR (e.__sluice_eo IS NULL AND r.${o} IS NOT NULL) OR (r.${o} IS NOT DISTINCT FROM e.__sluice_eo AND r.__sluice_ph <> e.__sluice_eph))`
      : "(r.__sluice_ph <> e.__sluice_eph)";
    const compared = ctx.tmpName("dedup_compared");
    await engine.run(
      `CREATE TABLE ${compared} AS SELECT r.${row}, ${k.map((c) => `r.${c}`).join(", ")}, ${newer} AS __sluice_wins
       FROM (SELECT * FROM ${ranked} WHERE __sluice_rn = 1) AS r JOIN ${held} AS e ON ${on("r", "e")}`,
      "dedup",
    );
    await engine.run(
      `CREATE TABLE ${drop} AS
         SELECT ${row} FROM ${ranked} WHERE __sluice_rn > 1
         UNION ALL
         SELECT ${row} FROM ${compared} WHERE NOT __sluice_wins`,
      "dedup",
    );
    targetHeld = await engine.count(compared);
    replaced = `(SELECT ${k.join(", ")} FROM ${compared} WHERE __sluice_wins)`;
  }

  const dropped = await engine.count(drop);
  const batchPart =
    dropped === 0
      ? `SELECT * EXCLUDE (${row}) FROM ${input}`
      : `SELECT * EXCLUDE (${row}) FROM ${input} WHERE ${row} NOT IN (SELECT ${row} FROM ${drop})`;
  if (!target) {
    await engine.run(`CREATE VIEW ${out} AS ${batchPart}`, "dedup");
    return {
      relation: out,
      extent,
      duplicates: dropped,
      dropped,
      withinBatch: dropped,
      batchRows: inputRows - dropped,
    };
  }
  if (delta) {
    await engine.run(`CREATE VIEW ${out} AS ${batchPart}`, "dedup");
  } else {
    const kept = replaced
      ? `SELECT e.* FROM ${target} AS e ANTI JOIN ${replaced} AS w ON ${on("e", "w")}`
      : `SELECT * FROM ${target}`;
    await engine.run(`CREATE VIEW ${out} AS ${kept} UNION ALL BY NAME ${batchPart}`, "dedup");
  }

  // Duplicates: later rows of a key in the batch, and first rows of a key the target already held.
  const later = await engine.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${ranked} WHERE __sluice_rn > 1`, "dedup");
  const duplicates = config.strategy === "eager" ? dropped : Number(later?.n ?? 0) + targetHeld;
  const batchRows = inputRows - dropped;
  const heldKeys = config.strategy === "eager" ? dropped - Number(later?.n ?? 0) : targetHeld;
  const changed = replaced ? await engine.count(replaced) : 0;
  const keys = { new: batchRows - changed, changed, unchanged: heldKeys - changed };
  const applied = !delta ? "replace" : config.strategy === "merge" ? "upsert" : "append";
  return { relation: out, extent: applied, duplicates, dropped, withinBatch: Number(later?.n ?? 0), batchRows, keys };
}

/** The dedup key, checked against the batch's columns (ConfigError, exit 2, otherwise). */
function checkedKey(config: DedupConfig, names: readonly string[]): string[] {
  const key = config.key ?? [];
  if (key.length === 0) {
    throw new ConfigError(
      `dedup strategy \`${config.strategy}\` needs \`key\`: the columns that identify a record`,
      "e.g. dedup: { strategy: merge, key: [id], order_by: updatedAt }",
    );
  }
  const available = names.filter((n) => n !== SOURCE_ROW && n !== SOURCE_POS);
  for (const c of [...key, ...(config.order_by ? [config.order_by] : [])]) {
    if (!names.includes(c)) {
      throw new ConfigError(
        `dedup ${key.includes(c) ? "key" : "order_by"} column \`${c}\` is not in the batch`,
        `columns after transforms and contract: ${available.join(", ")}`,
      );
    }
  }
  return key;
}

/**
 * A subquery over the target's rows with the batch's columns cast to the
 * batch's types (by name); the target's other columns (lineage, hashes,
 * retired columns) pass through as they are.
 */
async function alignedExisting(
  ctx: DedupContext,
  existing: string,
  types: ReadonlyMap<string, string>,
): Promise<string> {
  const cols = await ctx.engine.columns(existing);
  const have = new Set(cols.map((c) => c.name));
  const list = cols
    .filter((c) => c.name !== SOURCE_ROW && c.name !== SOURCE_POS)
    .map((c) => {
      const want = types.get(c.name);
      return want && want !== c.type ? `TRY_CAST(${ident(c.name)} AS ${want}) AS ${ident(c.name)}` : ident(c.name);
    });
  // Batch columns the target lacks (added since it was written) are NULL there.
  for (const [name, type] of types) {
    if (!have.has(name) && name !== SOURCE_ROW && name !== SOURCE_POS) list.push(`NULL::${type} AS ${ident(name)}`);
  }
  return `(SELECT ${list.join(", ")} FROM ${existing})`;
}

/**
 * bronze_append: every row with its key and payload hashes, and `_duplicate` (the key was seen
 * earlier in the batch, in source order, or in the target) unless the target lacks that column.
 */
async function bronzeAppend(
  ctx: DedupContext,
  b: {
    input: string;
    out: string;
    key: readonly string[];
    payload: readonly string[];
    names: readonly string[];
    target: string | undefined;
    existing: string | undefined;
    inputRows: number;
    extent: "replace" | "append";
  },
): Promise<DedupResult> {
  const { engine } = ctx;
  const { input, out, key, target } = b;
  const row = ident(SOURCE_ROW);
  const k = key.map(ident);
  const hashed = [COMPOSITE_HASH, PAYLOAD_HASH, DUPLICATE_MARK].filter((c) => b.names.includes(c)).map(ident);
  const hashes = `${sha256Of(key)} AS ${ident(COMPOSITE_HASH)}, ${sha256Of(b.payload)} AS ${ident(PAYLOAD_HASH)}`;
  const distinct = await engine.one<{ n: bigint }>(
    `SELECT count(*) AS n FROM (SELECT DISTINCT ${k.join(", ")} FROM ${input})`,
    "dedup",
  );
  const withinBatch = b.inputRows - Number(distinct?.n ?? 0);
  const mark = !b.existing || (await engine.columns(b.existing)).some((c) => c.name === DUPLICATE_MARK);
  if (!mark) {
    await engine.run(
      `CREATE VIEW ${out} AS SELECT * EXCLUDE (${[row, ...hashed].join(", ")}), ${hashes} FROM ${input}`,
      "dedup",
    );
    // Hashes are equal exactly when the key values are: count on the values, NULLs equal like equal hashes.
    const seenBefore = target ? ` EXCEPT SELECT ${k.join(", ")} FROM ${target}` : "";
    const fresh = await engine.one<{ n: bigint }>(
      `SELECT count(*) AS n FROM (SELECT DISTINCT ${k.join(", ")} FROM ${input}${seenBefore})`,
      "dedup",
    );
    const duplicates = b.inputRows - Number(fresh?.n ?? 0);
    return { relation: out, extent: b.extent, duplicates, dropped: 0, withinBatch, batchRows: b.inputRows };
  }
  // The rows to mark, over a narrow relation (row number and key): later rows of a key, and rows of
  // a key the target holds. The wide rows are only read once more, by the view the stage writes.
  const numbered = `(SELECT ${row}, ${k.join(", ")}, row_number() OVER (PARTITION BY ${k.join(", ")} ORDER BY ${row}) AS __sluice_rn FROM ${input})`;
  const dups = ctx.tmpName("bronze_dups");
  if (target) {
    const on = k.map((c) => `i.${c} IS NOT DISTINCT FROM h.${c}`).join(" AND ");
    await engine.run(
      `CREATE TABLE ${dups} AS SELECT i.${row} FROM ${numbered} AS i
       LEFT JOIN (SELECT DISTINCT ${k.join(", ")}, TRUE AS __sluice_held FROM ${target}) AS h ON ${on}
       WHERE i.__sluice_rn > 1 OR h.__sluice_held`,
      "dedup",
    );
  } else {
    await engine.run(`CREATE TABLE ${dups} AS SELECT ${row} FROM ${numbered} WHERE __sluice_rn > 1`, "dedup");
  }
  await engine.run(
    `CREATE VIEW ${out} AS SELECT * EXCLUDE (${[row, ...hashed].join(", ")}), ${hashes},
       (${row} IN (SELECT ${row} FROM ${dups})) AS ${ident(DUPLICATE_MARK)} FROM ${input}`,
    "dedup",
  );
  const duplicates = await engine.count(dups);
  const batchRows = b.inputRows;
  return { relation: out, extent: b.extent, duplicates, dropped: 0, withinBatch, marked: duplicates, batchRows };
}
