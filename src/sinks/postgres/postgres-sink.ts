import { join } from "node:path";
import type pg from "pg";
import { escapeIdentifier } from "pg";
import type { DedupConfig, PostgresSinkConfig } from "../../config/spec.js";
import { suggest } from "../../config/suggest.js";
import { type PostgresUrl, parsePostgresUrl, scrubSecrets } from "../../connectors/postgres/connection-url.js";
import { toPgSluiceError } from "../../connectors/postgres/pg-errors.js";
import { closeSession, openSession } from "../../connectors/postgres/pg-session.js";
import { ident, literal } from "../../engine/sql.js";
import { ConfigError, type SluiceError } from "../../errors.js";
import { removeQuietly } from "../../util/atomic.js";
import { type Aligned, alignToBasis } from "../align-to-basis.js";
import type { KeyProbe, Sink, SinkContext, SinkOutput, WriteIntent } from "../sink.js";
import { readExisting } from "./existing-rows.js";
import { insertStaged, type RefusedRow } from "./insert-staged.js";
import { ensureBatchesTable, holdsBatch, lastBatch, recordBatch } from "./pg-batches.js";
import { copyDir, copyIntoStaging } from "./pg-copy.js";
import { heldRejected, keepRejected } from "./pg-rejected.js";
import {
  addMissingColumns,
  type BatchColumn,
  createTarget,
  hasUniqueOn,
  pgName,
  readTarget,
  type TargetColumn,
} from "./pg-target.js";
import { numberAndCheck, ROW_COLUMN } from "./precheck.js";

const COMPONENT = "sink:postgres";
const STAGING = "sluice_staging";

/** Whether a key occurs twice among the rows that passed the checks (DuckDB: one aggregate). */
async function repeatsKey(ctx: SinkContext, numbered: string, key: readonly string[]): Promise<boolean> {
  const k = key.map(ident).join(", ");
  const row = await ctx.engine.one<{ repeats: boolean }>(
    `SELECT count(*) > count(DISTINCT (${k})) AS repeats FROM ${ident(numbered)} WHERE _error IS NULL`,
    "sink",
  );
  return row?.repeats === true;
}

/**
 * Writes the batch into a PostgreSQL table (`<schema>.<table>`), exactly once per batch.
 *
 * One transaction per batch: the target's advisory lock; `_sluice_batches` says whether the table
 * holds the batch (then nothing is written: `held`); the table is created from the batch's DuckDB
 * types when missing (primary key on `key` for upsert; batch columns it lacks are added); DuckDB
 * numbers the rows and checks them against the table's column definitions (length, NOT NULL,
 * numeric range); the rest is written by DuckDB as CSV and COPYed into a TEMP staging table, moved
 * with `INSERT ... SELECT` (append) or `INSERT ... ON CONFLICT (key) DO UPDATE` (upsert), rows the
 * database still refuses isolated by halving under savepoints; the batch id is inserted into
 * `_sluice_batches`; COMMIT. Refused rows come back as `rejected` (batch columns + `_error`).
 *
 * The sink never deletes rows, except when it receives the whole dataset in place of a delta (it
 * missed a batch: `alignToBasis`, or merge/eager/bronze_append handed a `replace`) in append mode.
 */
export class PostgresSink implements Sink {
  readonly name: string;
  readonly incremental = true;
  private readonly url: PostgresUrl;
  private readonly schema: string;
  private readonly table: string;
  private readonly label: string;
  private readonly key: readonly string[] | undefined;
  private readonly strategy: DedupConfig["strategy"];

  constructor(
    private readonly config: PostgresSinkConfig,
    dedup?: DedupConfig,
  ) {
    this.url = parsePostgresUrl(config.url, COMPONENT);
    this.schema = config.schema ?? this.url.schema ?? "public";
    this.table = config.table;
    this.label = `${this.schema}.${this.table}`;
    this.name = `postgres:${this.label}`;
    this.key = config.key ?? dedup?.key;
    this.strategy = dedup?.strategy ?? "none";
    if (config.mode === "upsert" && !this.key?.length) {
      throw new ConfigError(
        `postgres sink ${this.label}: mode \`upsert\` needs \`key: [column, ...]\``,
        "set the sink's `key`, or a `dedup.key` for the pipeline",
      );
    }
    if (config.mode === "append" && this.strategy === "merge") {
      throw new ConfigError(
        `postgres sink ${this.label}: dedup \`merge\` hands the sink newer versions of keys it holds, which \`mode: append\` would add twice`,
        "set `mode: upsert` (the key defaults to the dedup key)",
      );
    }
  }

  async write(
    ctx: SinkContext,
    given: string,
    asked: WriteIntent,
    _previous: readonly SinkOutput[],
  ): Promise<SinkOutput> {
    let aligned: Aligned;
    try {
      aligned = await alignToBasis(this, ctx, given, asked);
    } catch (err) {
      return this.failed(err, "write");
    }
    const { relation, intent } = aligned;
    // The whole dataset in place of new rows: append mode makes the table exactly that.
    const whole = intent !== asked || (intent.extent === "replace" && this.strategy !== "none");
    const columns = (await ctx.engine.columns(relation)).filter((c) => c.name !== "_source_pos");
    const key = this.config.mode === "upsert" ? this.key : intent.extent === "upsert" ? intent.key : undefined;
    for (const k of key ?? []) this.checkColumn(k, columns);
    const dir = copyDir(ctx);
    let client: pg.Client | undefined;
    try {
      client = await openSession(this.url);
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`sluice:${pgName(this.schema, this.table)}`]);
      await this.ensureSchema(client);
      await ensureBatchesTable(client, this.schema);
      const batch = { schema: this.schema, table: this.table, batchId: intent.batchId };
      if (await holdsBatch(client, this.schema, this.table, intent.batchId)) {
        const rejected = await heldRejected(ctx, client, batch, columns, dir);
        await client.query("COMMIT");
        return { sink: this.name, table: this.label, rows: 0, status: "held", ...(rejected ? { rejected } : {}) };
      }
      const target = await this.prepareTarget(client, columns, key);
      const out = await this.writeRows(ctx, client, relation, columns, target, key, whole && !key, dir);
      if (out.rejected) await keepRejected(client, ctx.engine, batch, out.rejected, columns, dir);
      await recordBatch(client, this.schema, this.table, intent.batchId, ctx.runId);
      await client.query("COMMIT");
      return out;
    } catch (err) {
      if (client) await client.query("ROLLBACK").catch(() => undefined);
      if (err instanceof ConfigError) throw err;
      return this.failed(err, "write");
    } finally {
      if (client) await closeSession(client);
      removeQuietly(dir);
    }
  }

  /** `_sluice_batches` of the table's schema lists the batch (committed with it). */
  async holds(_ctx: SinkContext, batchId: string): Promise<boolean> {
    return this.session("holds", (client) => holdsBatch(client, this.schema, this.table, batchId));
  }

  /** The last batch `_sluice_batches` lists for the table (undefined: none). */
  async head(_ctx: SinkContext): Promise<string | undefined> {
    return this.session("head", (client) => lastBatch(client, this.schema, this.table));
  }

  /** The table's rows (with `probe`: those with the batch's keys) as a table of the run's engine. */
  async existing(ctx: SinkContext, probe?: KeyProbe): Promise<string | undefined> {
    const dir = copyDir(ctx);
    try {
      return await this.session("dedup", (client) => readExisting(ctx, client, this.schema, this.table, dir, probe));
    } finally {
      removeQuietly(dir);
    }
  }

  /** Creates or completes the target; returns its column definitions. */
  private async prepareTarget(
    client: pg.Client,
    columns: readonly BatchColumn[],
    key: readonly string[] | undefined,
  ): Promise<TargetColumn[]> {
    const name = pgName(this.schema, this.table);
    const before = await readTarget(client, this.schema, this.table);
    if (!before) {
      await createTarget(client, name, columns, key);
    } else {
      await addMissingColumns(client, name, before, columns);
      if (key?.length && !(await hasUniqueOn(client, name, key))) {
        throw new ConfigError(
          `postgres sink ${this.label}: upsert on (${key.join(", ")}) needs a primary key or unique index on exactly those columns`,
          `ALTER TABLE ${name} ADD PRIMARY KEY (${key.map(escapeIdentifier).join(", ")}), or set the sink's \`key\` to the table's key`,
        );
      }
    }
    const target = (await readTarget(client, this.schema, this.table)) ?? [];
    const given = new Set(columns.map((c) => c.name));
    const unfilled = target.filter((t) => t.notNull && !t.hasDefault && !given.has(t.name)).map((t) => t.name);
    if (unfilled.length) {
      throw new ConfigError(
        `postgres sink ${this.label}: the table's NOT NULL column${unfilled.length > 1 ? "s" : ""} ${unfilled.map((n) => `"${n}"`).join(", ")} without a default ${unfilled.length > 1 ? "are" : "is"} not in the batch`,
        "add the column to the batch (a `derive` transform), give it a DEFAULT, or drop NOT NULL",
      );
    }
    return target;
  }

  /** Checks, stages and moves the rows; builds the rejected relation. Inside the transaction. */
  private async writeRows(
    ctx: SinkContext,
    client: pg.Client,
    relation: string,
    columns: readonly BatchColumn[],
    target: readonly TargetColumn[],
    key: readonly string[] | undefined,
    replaceAll: boolean,
    dir: string,
  ): Promise<SinkOutput> {
    const numbered = ctx.tmpName("pg_rows");
    try {
      const prechecked = await numberAndCheck(ctx.engine, relation, columns, target, this.table, numbered);
      const total = await ctx.engine.count(ident(numbered));
      const from = `${ident(numbered)} WHERE _error IS NULL`;
      await copyIntoStaging(client, ctx.engine, from, columns, [ROW_COLUMN], STAGING, join(dir, "rows.csv"));
      if (replaceAll) await client.query(`DELETE FROM ${pgName(this.schema, this.table)}`);
      const statement = this.insertStatement(
        columns,
        target,
        key,
        key?.length ? await repeatsKey(ctx, numbered, key) : false,
      );
      const { rows, refused } = await insertStaged(client, STAGING, total, statement);
      const rejected = await this.rejectedRelation(ctx, numbered, columns, prechecked, refused);
      if (rejected) {
        ctx.log.warn(`${this.name}: PostgreSQL refused ${rejected.rows} rows of the batch; the rest is committed`);
      }
      return { sink: this.name, table: this.label, rows, status: "written", ...(rejected ? { rejected } : {}) };
    } finally {
      await ctx.engine.run(`DROP TABLE IF EXISTS ${ident(numbered)}`, "sink").catch(() => undefined);
    }
  }

  /** `INSERT INTO target (...) SELECT ... FROM staging WHERE _sluice_row BETWEEN lo AND hi [ON CONFLICT ...]`. */
  private insertStatement(
    columns: readonly BatchColumn[],
    target: readonly TargetColumn[],
    key: readonly string[] | undefined,
    repeats: boolean,
  ): (lo: number, hi: number) => string {
    const types = new Map(target.map((t) => [t.name, t.type]));
    const list = columns.map((c) => escapeIdentifier(c.name)).join(", ");
    const exprs = columns.map((c) => {
      const ref = `s.${escapeIdentifier(c.name)}`;
      const type = types.get(c.name);
      // An explicit cast to a character type of limited length would cut the value: let the assignment refuse it.
      if (!type || /^(character|bit)/.test(type)) return ref;
      return `CAST(${ref} AS ${type})`;
    });
    const name = pgName(this.schema, this.table);
    if (!key?.length) {
      return (lo, hi) =>
        `INSERT INTO ${name} (${list}) SELECT ${exprs.join(", ")} FROM ${STAGING} s WHERE s.${ROW_COLUMN} BETWEEN ${lo} AND ${hi}`;
    }
    const keyRefs = key.map((k) => `s.${escapeIdentifier(k)}`).join(", ");
    const rest = columns.filter((c) => !key.includes(c.name));
    const onConflict = rest.length
      ? `DO UPDATE SET ${rest.map((c) => `${escapeIdentifier(c.name)} = EXCLUDED.${escapeIdentifier(c.name)}`).join(", ")}`
      : "DO NOTHING";
    // One row per key (the batch's last), or ON CONFLICT would have to change a row twice.
    const distinct = repeats ? `DISTINCT ON (${keyRefs}) ` : "";
    const order = repeats ? ` ORDER BY ${keyRefs}, s.${ROW_COLUMN} DESC` : "";
    return (lo, hi) =>
      `INSERT INTO ${name} (${list}) SELECT ${distinct}${exprs.join(", ")} FROM ${STAGING} s WHERE s.${ROW_COLUMN} BETWEEN ${lo} AND ${hi}${order} ON CONFLICT (${key.map(escapeIdentifier).join(", ")}) ${onConflict}`;
  }

  /** The rows refused before (DuckDB's check) and by the database, with their messages. */
  private async rejectedRelation(
    ctx: SinkContext,
    numbered: string,
    columns: readonly BatchColumn[],
    prechecked: number,
    refused: readonly RefusedRow[],
  ): Promise<SinkOutput["rejected"]> {
    if (prechecked === 0 && refused.length === 0) return undefined;
    const list = columns.map((c) => `n.${ident(c.name)}`).join(", ");
    const parts = [`SELECT ${list}, n._error FROM ${ident(numbered)} n WHERE n._error IS NOT NULL`];
    if (refused.length) {
      const values = refused
        .map((r) => `(${r.row}, ${literal(scrubSecrets(r.error, this.url.password, this.url.display))})`)
        .join(", ");
      parts.push(
        `SELECT ${list}, r.error AS _error FROM ${ident(numbered)} n JOIN (VALUES ${values}) AS r(row_id, error) ON n.${ROW_COLUMN} = r.row_id`,
      );
    }
    const name = ctx.tmpName("pg_rejected");
    await ctx.engine.run(`CREATE TABLE ${ident(name)} AS ${parts.join(" UNION ALL ")}`, "sink");
    return { relation: ident(name), rows: prechecked + refused.length };
  }

  private async ensureSchema(client: pg.Client): Promise<void> {
    const r = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [this.schema]);
    if (!r.rowCount) await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(this.schema)}`);
  }

  private checkColumn(col: string, columns: readonly BatchColumn[]): void {
    const names = columns.map((c) => c.name);
    if (names.includes(col)) return;
    const guess = suggest(col, names);
    throw new ConfigError(
      `postgres sink ${this.label}: key column \`${col}\` is not a column of the batch`,
      guess ? `did you mean \`${guess}\`?` : `columns: ${names.join(", ")}`,
    );
  }

  /** Runs `fn` on a fresh session; errors become (transient where a retry may cure them) SluiceErrors. */
  private async session<T>(stage: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    let client: pg.Client | undefined;
    try {
      client = await openSession(this.url);
      return await fn(client);
    } catch (err) {
      throw this.error(err, stage);
    } finally {
      if (client) await closeSession(client);
    }
  }

  private error(err: unknown, stage: string): SluiceError {
    if (err instanceof ConfigError) return err;
    return toPgSluiceError(err, {
      component: COMPONENT,
      stage,
      display: this.url.display,
      password: this.url.password,
      doing: stage === "write" ? `writing ${this.label} into` : `reading ${this.label} (${stage}) from`,
    });
  }

  /** on_error: a skipped output (warn) or a SluiceError (fail; transient when a retry may cure it). */
  private failed(err: unknown, stage: string): SinkOutput {
    const error = this.error(err, stage);
    if (this.config.on_error === "fail") throw error;
    return {
      sink: this.name,
      table: this.label,
      rows: 0,
      status: "skipped",
      warning: `not written: ${error.message}; ${this.label} keeps its previous contents and the next run writes the batch`,
    };
  }
}
