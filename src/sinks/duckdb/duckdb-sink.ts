import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { DuckdbSinkConfig } from "../../config/spec.js";
import { suggest } from "../../config/suggest.js";
import { keySetSql } from "../../engine/key-set-sql.js";
import { ident, qualified } from "../../engine/sql.js";
import { ConfigError, SluiceError } from "../../errors.js";
import { type Aligned, alignToBasis } from "../align-to-basis.js";
import { parquetScan } from "../parquet/parquet-scan.js";
import type { KeyProbe, Sink, SinkContext, SinkOutput, WriteIntent } from "../sink.js";
import { describeHolder, entryKind, inTransaction, lockHolder, withWarehouse } from "./warehouse.js";
import { holdsBatch, lastBatch, recordBatch } from "./warehouse-batches.js";
import { widenTableColumns } from "./widen-columns.js";

/**
 * Syncs the batch into the DuckDB warehouse as `<schema>.<table>` (SPEC
 * sections 1 and 3).
 *
 * `view` mode: a view over the Parquet files the parquet sink before it
 * wrote (the `latest` pointer, or the hive glob), so it shows later runs
 * without being rewritten. `table` mode: `replace` rebuilds the table
 * ordered by `order_by` with its `indexes`; `append` inserts (creating the
 * table on first use), unless `<schema>._sluice_batches` says the table holds
 * the batch already (`held`). Each sync is one transaction, the batch id
 * recorded in it: a failure leaves the previous table or view as it was. The warehouse is attached only for the
 * sync and always detached, so its lock is not held longer than needed.
 *
 * When the sync fails (typically: another process holds the warehouse open),
 * `on_error: warn` returns a `skipped` output whose warning says why and
 * that the next run syncs; the run succeeds. `on_error: fail` throws.
 */
export class DuckdbSink implements Sink {
  readonly name: string;
  /** A table takes appends and upserts in place; a view re-points at the lake's files. */
  readonly incremental = true;
  /** table mode: the last batch `_sluice_batches` lists for the table. */
  readonly head?: (ctx: SinkContext) => Promise<string | undefined>;
  private readonly target: string;

  constructor(private readonly config: DuckdbSinkConfig) {
    this.target = `${config.schema}.${config.table}`;
    this.name = `duckdb:${this.target}`;
    if (config.mode === "table") this.head = (ctx) => this.lastBatch(ctx);
  }

  async write(
    ctx: SinkContext,
    given: string,
    asked: WriteIntent,
    previous: readonly SinkOutput[],
  ): Promise<SinkOutput> {
    const file = this.warehouseFile(ctx);
    const files = this.config.mode === "view" ? this.parquetFiles(previous) : {};
    let aligned: Aligned;
    try {
      aligned = await alignToBasis(this, ctx, given, asked);
    } catch (err) {
      return this.failed(err, file);
    }
    const { relation, intent } = aligned;
    const order = this.config.mode === "table" ? await this.checkColumns(ctx, relation) : "";
    const rows = await ctx.engine.count(relation);
    let held = false;
    try {
      await withWarehouse(ctx, file, { readOnly: false }, (alias) =>
        inTransaction(ctx, async () => {
          const { schema, table } = this.config;
          await ctx.engine.run(`CREATE SCHEMA IF NOT EXISTS ${qualified(alias, schema)}`, "sync");
          if (this.config.mode === "view") return await this.syncView(ctx, alias, relation, files);
          held = intent.extent !== "replace" && (await holdsBatch(ctx, alias, schema, table, intent.batchId));
          if (held) return;
          await this.syncTable(ctx, alias, relation, intent, order);
          await recordBatch(ctx, alias, schema, table, intent.batchId, intent.extent === "replace");
        }),
      );
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      return this.failed(err, file);
    }
    return { sink: this.name, table: this.target, rows: held ? 0 : rows, status: held ? "held" : "written" };
  }

  /**
   * table mode: `_sluice_batches` lists the batch (committed with it). view mode: the view exists;
   * it reads the lake's files, so it holds whatever they hold.
   */
  async holds(ctx: SinkContext, batchId: string): Promise<boolean> {
    const file = this.warehouseFile(ctx);
    if (!existsSync(file)) return false;
    const { schema, table } = this.config;
    return withWarehouse(ctx, file, { readOnly: true }, async (alias) =>
      this.config.mode === "view"
        ? (await entryKind(ctx, alias, schema, table)) === "view"
        : holdsBatch(ctx, alias, schema, table, batchId),
    ).catch((err: unknown) => {
      throw this.unreadable(err, file, "holds");
    });
  }

  /**
   * table mode: a copy of the rows the warehouse table holds now, as a table
   * in the run's engine (the warehouse is attached read-only and detached
   * again), or undefined when the table does not exist yet. view mode:
   * undefined (the parquet sink behind the view answers). Throws a transient
   * SluiceError when the warehouse cannot be read: dedup must not treat a
   * locked table as empty.
   */
  async existing(ctx: SinkContext, probe?: KeyProbe): Promise<string | undefined> {
    if (this.config.mode === "view") return undefined;
    const file = this.warehouseFile(ctx);
    if (!existsSync(file)) return undefined;
    try {
      return await withWarehouse(ctx, file, { readOnly: true }, async (alias) => {
        if ((await entryKind(ctx, alias, this.config.schema, this.config.table)) !== "table") return undefined;
        const copy = ctx.tmpName("existing");
        const name = qualified(alias, this.config.schema, this.config.table);
        const only = probe
          ? ` AS t SEMI JOIN ${keySetSql(probe.relation, probe.key)} AS b ON ${keysEqual(probe.key)}`
          : "";
        await ctx.engine.run(`CREATE TABLE ${ident(copy)} AS SELECT * FROM ${name}${only}`, "dedup");
        return ident(copy);
      });
    } catch (err) {
      throw this.unreadable(err, file, "dedup");
    }
  }

  /**
   * The warehouse could not be read: a transient SluiceError when another process holds its lock
   * (retried; a stream waits), so a locked table is never taken for an empty or different one.
   */
  private unreadable(err: unknown, file: string, stage: string): SluiceError {
    const holder = lockHolder(err);
    return new SluiceError(
      `cannot read ${this.target} from ${file}${holder ? `: it is locked by ${describeHolder(holder)}` : ""}`,
      {
        component: "duckdb",
        stage,
        hint: holder
          ? "close the process holding the warehouse open (a DuckDB shell, a notebook), then rerun"
          : "check that the warehouse file is a readable DuckDB database",
        transient: holder !== undefined,
        cause: err,
      },
    );
  }

  private async syncView(
    ctx: SinkContext,
    alias: string,
    relation: string,
    { files = [], scan: given }: Pick<SinkOutput, "files" | "scan">,
  ): Promise<void> {
    const name = qualified(alias, this.config.schema, this.config.table);
    if ((await entryKind(ctx, alias, this.config.schema, this.config.table)) === "table") {
      await ctx.engine.run(`DROP TABLE ${name}`, "sync");
    }
    // A Delta table names the files of the version just committed; a Hive tree or snapshot, its files.
    const scan = given ?? (await parquetScan(ctx.engine, files, { withDerived: true }));
    // A partitioned dataset with no file yet: an empty view with the batch's columns.
    const body = scan ? `SELECT * FROM ${scan}` : await emptySelect(ctx, relation);
    await ctx.engine.run(`CREATE OR REPLACE VIEW ${name} AS ${body}`, "sync");
  }

  private async syncTable(
    ctx: SinkContext,
    alias: string,
    relation: string,
    intent: WriteIntent,
    order: string,
  ): Promise<void> {
    const name = qualified(alias, this.config.schema, this.config.table);
    let kind = await entryKind(ctx, alias, this.config.schema, this.config.table);
    if (kind === "view") {
      await ctx.engine.run(`DROP VIEW ${name}`, "sync");
      kind = undefined;
    }
    if (intent.extent !== "replace" && kind === "table") {
      await this.addNewColumns(ctx, alias, relation);
      await widenTableColumns(ctx, alias, this.config.schema, this.config.table, relation);
      if (intent.extent === "upsert" && intent.key?.length) {
        // The rows the batch replaces go in the same transaction; indexes stay and follow.
        await ctx.engine.run(
          `DELETE FROM ${name} AS t USING ${keySetSql(relation, intent.key)} AS b WHERE ${keysEqual(intent.key)}`,
          "sync",
        );
      }
      await ctx.engine.run(`INSERT INTO ${name} BY NAME SELECT * FROM ${relation}${order}`, "sync");
    } else {
      await ctx.engine.run(`CREATE OR REPLACE TABLE ${name} AS SELECT * FROM ${relation}${order}`, "sync");
    }
    for (const cols of this.config.indexes) {
      const index = ident(`idx_${this.config.table}_${cols.join("_")}`);
      await ctx.engine.run(`CREATE INDEX IF NOT EXISTS ${index} ON ${name} (${cols.map(ident).join(", ")})`, "sync");
    }
  }

  /** The last batch `_sluice_batches` lists for the table (undefined: none, or no warehouse yet). */
  private async lastBatch(ctx: SinkContext): Promise<string | undefined> {
    const file = this.warehouseFile(ctx);
    if (!existsSync(file)) return undefined;
    const { schema, table } = this.config;
    return withWarehouse(ctx, file, { readOnly: true }, (alias) => lastBatch(ctx, alias, schema, table)).catch(
      (err: unknown) => {
        throw this.unreadable(err, file, "head");
      },
    );
  }

  /** append: columns the batch has and the table lacks are added (NULL in the rows already there). */
  private async addNewColumns(ctx: SinkContext, alias: string, relation: string): Promise<void> {
    const name = qualified(alias, this.config.schema, this.config.table);
    const have = new Set((await ctx.engine.columns(name)).map((c) => c.name));
    for (const col of await ctx.engine.columns(relation)) {
      if (!have.has(col.name)) {
        await ctx.engine.run(`ALTER TABLE ${name} ADD COLUMN ${ident(col.name)} ${col.type}`, "sync");
      }
    }
  }

  /** The files of the nearest parquet sink before this one; a ConfigError when there is none. */
  private parquetFiles(previous: readonly SinkOutput[]): Pick<SinkOutput, "files" | "scan"> {
    const out = [...previous].reverse().find((o) => o.sink.startsWith("parquet:") && (o.files?.length || o.scan));
    if (!out) {
      throw new ConfigError(
        `duckdb sink ${this.target}: mode \`view\` needs a parquet sink listed before it in \`sinks\``,
        "add a `type: parquet` sink before this one, or set `mode: table` to copy the rows into the warehouse",
      );
    }
    return out;
  }

  /**
   * Checks that `order_by` and `indexes` name columns of the batch (a typo is
   * a config error, not a sync to retry) and returns the ORDER BY clause.
   */
  private async checkColumns(ctx: SinkContext, relation: string): Promise<string> {
    const names = (await ctx.engine.columns(relation)).map((c) => c.name);
    const check = (col: string, key: string) => {
      if (names.includes(col)) return;
      const guess = suggest(col, names);
      throw new ConfigError(
        `duckdb sink ${this.target}: ${key} column \`${col}\` is not a column of the batch`,
        guess ? `did you mean \`${guess}\`?` : `columns: ${names.join(", ")}`,
      );
    };
    for (const cols of this.config.indexes) for (const col of cols) check(col, "indexes");
    if (!this.config.order_by) return "";
    const terms = this.config.order_by.split(",").map((term) => {
      const [, col = "", dir = ""] = /^\s*(.+?)(?:\s+(asc|desc))?\s*$/i.exec(term) ?? [];
      check(col, "order_by");
      return `${ident(col)}${dir ? ` ${dir.toUpperCase()}` : ""}`;
    });
    return ` ORDER BY ${terms.join(", ")}`;
  }

  /** on_error: a skipped output (warn) or a SluiceError (fail). */
  private failed(err: unknown, file: string): SinkOutput {
    const holder = lockHolder(err);
    const reason = holder
      ? `the warehouse ${file} is locked by ${describeHolder(holder)}`
      : `${firstLine(err)} (warehouse ${file})`;
    if (this.config.on_error === "fail") {
      throw new SluiceError(`could not sync ${this.target}: ${reason}`, {
        component: "duckdb",
        stage: "sync",
        hint: holder
          ? "close the process holding the warehouse open (a DuckDB shell, a notebook, a long `sluice query`) and rerun, or set `on_error: warn` to skip the sync while it is busy"
          : "fix the cause above and rerun; `on_error: warn` lets the run succeed and sync on the next run",
        transient: holder !== undefined,
        cause: err,
      });
    }
    return {
      sink: this.name,
      table: this.target,
      rows: 0,
      status: "skipped",
      warning: `not synced: ${reason}; ${this.target} keeps its previous contents and the next run will sync it`,
    };
  }

  private warehouseFile(ctx: SinkContext): string {
    return this.config.path ? resolve(ctx.configDir, this.config.path) : ctx.warehousePath;
  }
}

/** `t.k1 = b.k1 AND ...`: a row of `t` has a key of `b`. */
function keysEqual(key: readonly string[]): string {
  return key.map((k) => `t.${ident(k)} = b.${ident(k)}`).join(" AND ");
}

/** `SELECT NULL::type AS col, ... WHERE false`: no rows, the columns and types of `relation`. */
async function emptySelect(ctx: SinkContext, relation: string): Promise<string> {
  const cols = await ctx.engine.columns(relation);
  return `SELECT ${cols.map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`).join(", ")} WHERE false`;
}

/** The first line of an error's message (DuckDB adds context lines after it). */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0] ?? message;
}
