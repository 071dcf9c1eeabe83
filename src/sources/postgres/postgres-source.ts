import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import type { PostgresSourceConfig } from "../../config/spec.js";
import { suggest } from "../../config/suggest.js";
import { type PostgresUrl, parsePostgresUrl } from "../../connectors/postgres/connection-url.js";
import { isTransientPgError, toPgSluiceError } from "../../connectors/postgres/pg-errors.js";
import { closeSession, openSession } from "../../connectors/postgres/pg-session.js";
import { SluiceError } from "../../errors.js";
import { sluiceNow } from "../sluice-now.js";
import type { ExtractResult, Source, SourceContext, SourceOptions } from "../source.js";
import { type BlockRange, copyIntoDuckdb } from "./copy-export.js";
import { describeColumns, primaryKey } from "./describe-columns.js";
import { equalsFilter, incrementalFilter, untilFilter, windowFilter } from "./export-query.js";
import { findTable } from "./find-table.js";
import { columnTransfer, type PgColumn } from "./pg-types.js";
import { computeWatermark, readWatermark } from "./watermark.js";

const COMPONENT = "source:postgres";

/** How a large table is split for a parallel export. */
export interface PostgresExportTuning {
  /** Table pages per COPY range; default 4096 (32 MiB of heap, ~150K rows of a 15-column event table). */
  readonly rangeBlocks?: number;
  /** Connections one export uses at most; default 3. */
  readonly maxConnections?: number;
}

type Mode = PostgresSourceConfig["mode"];

/** What one export reads, resolved against the server's catalog. */
interface ExportTarget {
  /** `public."BehavioralEvent"` or `query`. */
  readonly label: string;
  readonly fromSql: string;
  readonly oid: number | undefined;
  readonly relkind: string | undefined;
  readonly reltuples: number | undefined;
  readonly columns: PgColumn[];
}

/**
 * `source.type: postgres` (SPEC sections 1/S1 and 5): a table (first of the
 * candidate names that exists) or a query, exported with COPY into the run's
 * DuckDB engine.
 *
 * Modes: `full`; `window` (`days` back on `cursor` from the run's start, or
 * from SLUICE_NOW when set: see sluiceNow);
 * `incremental` (rows after the committed (cursor, key) watermark, or within
 * `lookback` of it). `--full`, `--incremental`, `--days N` and `--user-id ID`
 * override the mode for one run; `--user-id ID` exports that user's history
 * (all of it, or the `--days` window) as a delta merged into the targets, and
 * leaves the watermark where it is.
 *
 * Contract: the relation holds every exported row with its faithful DuckDB
 * type (see columnTransfer) plus `_source_pos` (`id=<key>`); nextState (the
 * new watermark) is only returned, the runner commits it after every sink
 * committed. Errors are SluiceErrors, transient for connection trouble,
 * with no password in any text.
 */
export class PostgresSource implements Source {
  private readonly rangeBlocks: number;
  private readonly maxConnections: number;

  constructor(
    private readonly config: PostgresSourceConfig,
    tuning: PostgresExportTuning = {},
  ) {
    this.rangeBlocks = tuning.rangeBlocks ?? 4096;
    this.maxConnections = tuning.maxConnections ?? 3;
  }

  async extract(ctx: SourceContext): Promise<ExtractResult> {
    const url = parsePostgresUrl(this.config.url, COMPONENT);
    const mode = effectiveMode(this.config, ctx.options);
    const errorContext = { component: COMPONENT, stage: "extract", display: url.display, password: url.password };
    let client: pg.Client | undefined;
    let doing = "connecting to";
    try {
      client = await openSession(url);
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      doing = "reading the catalog of";
      const target = await this.resolveTarget(client, url);
      doing = `exporting ${target.label} from`;
      const { selected, key, cursor, filters, detail, userColumn } = await this.planExport(client, target, mode, ctx);
      const selectedNames = new Set(selected.map((c) => c.name));
      const keyNames = key.map((k) => k.name);

      const split = await this.blockRanges(client, target, mode, userColumn !== undefined);
      const snapshot = split ? await exportSnapshot(client) : undefined;
      const ranges = snapshot ? split : undefined;

      ctx.log.info(`exporting ${url.display} ${target.label} (${mode}: ${detail})`);
      const tmpDir = join(ctx.dataDir, ".tmp", ctx.runId);
      mkdirSync(tmpDir, { recursive: true });
      const relation = ctx.tmpName("pg_src");
      const rows = await copyIntoDuckdb({
        url,
        primary: client,
        fromSql: target.fromSql,
        transfers: selected.map(columnTransfer),
        filters,
        ranges,
        snapshot,
        concurrency: snapshot ? this.maxConnections : 1,
        key: keyNames,
        tmpDir,
        engine: ctx.engine,
        relation,
        onRows: (n) => ctx.progress.update(n),
      });
      await client.query("COMMIT");
      if (rows === 0) ctx.log.warn(`no rows in ${target.label} (${mode}: ${detail})`);

      const description = `${url.display} ${target.label}`;
      const canMark =
        cursor !== undefined && userColumn === undefined && [cursor, ...key].every((c) => selectedNames.has(c.name));
      const watermark =
        canMark && rows > 0 ? await computeWatermark(ctx.engine, relation, cursor.name, keyNames) : undefined;
      return {
        relation,
        rows,
        extent: mode === "incremental" || userColumn ? "append" : "replace",
        complete: mode !== "incremental" && !userColumn,
        description,
        ...(watermark ? { nextState: { watermark } } : {}),
      };
    } catch (err) {
      throw toPgSluiceError(err, { ...errorContext, doing });
    } finally {
      if (client) await closeSession(client);
    }
  }

  /**
   * What one export reads: the columns, the key and cursor columns, and the
   * filters (`where`, `--user-id`, the window or the watermark) with a phrase
   * describing them for the log.
   */
  private async planExport(client: pg.Client, target: ExportTarget, mode: Mode, ctx: SourceContext) {
    const byName = new Map(target.columns.map((c) => [c.name, c]));
    const selected = this.selectedColumns(target, byName);
    const key = this.keyColumns(target, byName, await this.catalogKey(client, target));
    const cursor = this.cursorColumn(mode, byName);
    const filters: string[] = [];
    for (const [name, value] of Object.entries(this.config.where ?? {})) {
      filters.push(equalsFilter(need(byName, name, "where", target.label), value));
    }
    const userId = ctx.options.userId;
    const userColumn = userId !== undefined ? userIdColumn(byName, target.label) : undefined;
    if (userColumn) filters.push(equalsFilter(userColumn, userId!));

    let detail = "all rows";
    if (mode === "window") {
      const days = ctx.options.days ?? this.config.days;
      if (days === undefined) throw configError("mode `window` needs `days` (or --days N)");
      const now = sluiceNow(ctx.startedAt);
      filters.push(windowFilter(cursor!, days, now));
      detail = `last ${days} days on "${cursor!.name}" before ${now.toISOString()}`;
    }
    if (mode === "incremental") {
      const names = new Set(selected.map((c) => c.name));
      for (const c of [cursor!, ...key]) {
        if (!names.has(c.name)) {
          throw configError(
            `incremental mode needs column "${c.name}" (cursor or key) in \`columns\``,
            "add it to `columns`, or remove `columns` to export them all",
          );
        }
      }
      const mark = readWatermark(
        ctx.state,
        cursor!.name,
        key.map((k) => k.name),
      );
      const lookback = this.config.lookback;
      if (mark) {
        filters.push(incrementalFilter(cursor!, key, mark, lookback));
        const after = `${mark.cursor}${mark.key.length ? ` (key ${mark.key.join(", ")})` : ""}`;
        detail = `after "${cursor!.name}" = ${after}${lookback ? `, lookback ${lookback}` : ""}`;
      } else {
        detail = "first incremental run: all rows";
      }
      // Finishing an interrupted batch: no further than where it ended the first time it was read.
      const until =
        ctx.until &&
        readWatermark(
          ctx.until,
          cursor!.name,
          key.map((k) => k.name),
        );
      if (until) filters.push(untilFilter(cursor!, key, until));
      if (until) detail += `, up to "${cursor!.name}" = ${until.cursor} (finishing an interrupted batch)`;
      if (key.length === 0 && !lookback) {
        ctx.log.warn(
          `${target.label} has no primary key and \`key\` is not set: rows sharing the last cursor value are re-read each run (dedup absorbs them)`,
        );
      }
    }
    if (userColumn) detail += `, ${userColumn.name} = ${userId}`;
    return { selected, key, cursor, filters, detail, userColumn };
  }

  /** The columns the export yields, typed as DuckDB holds them (`sluice check` checks names against them). */
  async columns(_ctx: Pick<SourceContext, "configDir" | "engine">): Promise<{ name: string; type: string }[]> {
    const url = parsePostgresUrl(this.config.url, COMPONENT);
    const client = await openSession(url);
    const target = await this.resolveTarget(client, url).finally(() => closeSession(client));
    return target.columns.map((c) => ({ name: c.name, type: columnTransfer(c).duckType }));
  }

  /** `sluice check`: connects, finds the table (or describes the query) and reports its size. */
  async check(_ctx: Pick<SourceContext, "configDir" | "log" | "dataDir">): Promise<string> {
    const url = parsePostgresUrl(this.config.url, COMPONENT);
    let client: pg.Client | undefined;
    try {
      client = await openSession(url);
      const target = await this.resolveTarget(client, url);
      if (target.oid === undefined) return `${url.display} query: ${target.columns.length} columns`;
      let estimate = target.reltuples ?? -1;
      let how = "estimate";
      if (estimate < 0) {
        // Never analyzed: count, but give up rather than scan a huge table for a check.
        await client.query("SET statement_timeout = 5000");
        try {
          const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${target.fromSql}`);
          estimate = Number(r.rows[0]!.n);
          how = "counted";
        } catch {
          return `${url.display} ${target.label}: ${target.columns.length} columns, row count unknown (never analyzed)`;
        }
      }
      return `${url.display} ${target.label}: ${target.columns.length} columns, ~${Math.round(estimate).toLocaleString("en-US")} rows (${how})`;
    } catch (err) {
      throw toPgSluiceError(err, {
        component: COMPONENT,
        stage: "check",
        display: url.display,
        password: url.password,
        doing: "checking",
      });
    } finally {
      if (client) await closeSession(client);
    }
  }

  private async resolveTarget(client: pg.Client, url: PostgresUrl): Promise<ExportTarget> {
    const { table, query } = this.config;
    const schema = this.config.schema ?? url.schema;
    if (table !== undefined && query !== undefined) {
      throw configError("set either `table` or `query`, not both");
    }
    if (query !== undefined) {
      // Unqualified names in the query resolve in the configured schema.
      if (schema) await client.query(`SET search_path TO ${client.escapeIdentifier(schema)}`);
      const fromSql = `(${query.trim().replace(/;\s*$/, "")}) AS q`;
      return {
        label: "query",
        fromSql,
        oid: undefined,
        relkind: undefined,
        reltuples: undefined,
        columns: await describeColumns(client, fromSql),
      };
    }
    if (table === undefined) throw configError("set `table` (a name or a list of candidate names) or `query`");
    const candidates = Array.isArray(table) ? table : [table];
    const found = await findTable(client, candidates, schema, url.display);
    return {
      label: found.label,
      fromSql: found.sql,
      oid: found.oid,
      relkind: found.relkind,
      reltuples: found.reltuples,
      columns: await describeColumns(client, found.sql),
    };
  }

  private selectedColumns(target: ExportTarget, byName: Map<string, PgColumn>): PgColumn[] {
    if (!this.config.columns) return target.columns;
    return this.config.columns.map((name) => need(byName, name, "columns", target.label));
  }

  private async catalogKey(client: pg.Client, target: ExportTarget): Promise<string[]> {
    if (this.config.key || target.oid === undefined) return [];
    return primaryKey(client, target.oid);
  }

  private keyColumns(target: ExportTarget, byName: Map<string, PgColumn>, catalog: string[]): PgColumn[] {
    return (this.config.key ?? catalog).map((name) => need(byName, name, "key", target.label));
  }

  private cursorColumn(mode: Mode, byName: Map<string, PgColumn>): PgColumn | undefined {
    const name = this.config.cursor;
    if (name === undefined) {
      if (mode !== "full") throw configError(`mode \`${mode}\` needs \`cursor\` (the timestamp column to follow)`);
      return undefined;
    }
    const col = need(byName, name, "cursor", "the source");
    if (mode === "window" && col.typcategory !== "D") {
      throw configError(
        `mode \`window\` needs a date or timestamp cursor; "${name}" is ${col.formatted}`,
        "use `mode: incremental` for numeric cursors, or a timestamp column as `cursor`",
      );
    }
    return col;
  }

  /**
   * Block ranges for a parallel export: whole tables (and materialized
   * views) of two ranges or more, on PostgreSQL 14+ (TID range scans), when
   * the export reads most of the table (full or window; an incremental
   * delta or one user's rows are better served by an index).
   */
  private async blockRanges(
    client: pg.Client,
    target: ExportTarget,
    mode: Mode,
    oneUser: boolean,
  ): Promise<BlockRange[] | undefined> {
    if (target.oid === undefined || !["r", "m"].includes(target.relkind ?? "") || mode === "incremental" || oneUser) {
      return undefined;
    }
    const r = await client.query<{ v: string; blocks: string }>(
      `SELECT current_setting('server_version_num') AS v,
              pg_relation_size($1::oid) / current_setting('block_size')::int8 AS blocks`,
      [target.oid],
    );
    const version = Number(r.rows[0]!.v);
    const blocks = Number(r.rows[0]!.blocks);
    if (version < 140000 || blocks < 2 * this.rangeBlocks || this.maxConnections < 2) return undefined;
    const count = Math.ceil(blocks / this.rangeBlocks);
    const per = Math.ceil(blocks / count);
    return Array.from({ length: count }, (_, i) => ({
      from: i * per,
      to: i === count - 1 ? undefined : (i + 1) * per,
    }));
  }
}

/**
 * `--full` > `--incremental` > `--days N` (a window) > the configured mode;
 * `--user-id` alone exports that user's whole history (full).
 */
export function effectiveMode(config: PostgresSourceConfig, options: SourceOptions): Mode {
  if (options.full) return "full";
  if (options.incremental) return "incremental";
  if (options.days !== undefined) return "window";
  if (options.userId !== undefined) return "full";
  return config.mode;
}

/**
 * Exports the transaction's snapshot for the helper connections of a
 * parallel export; undefined where the server cannot (a hot standby of an
 * old version, a pooler in transaction mode): the export then runs on one
 * connection.
 */
async function exportSnapshot(client: pg.Client): Promise<string | undefined> {
  await client.query("SAVEPOINT sluice_snapshot");
  try {
    const r = await client.query<{ s: string }>("SELECT pg_export_snapshot() AS s");
    await client.query("RELEASE SAVEPOINT sluice_snapshot");
    return r.rows[0]!.s;
  } catch (err) {
    if (isTransientPgError(err)) throw err;
    await client.query("ROLLBACK TO SAVEPOINT sluice_snapshot");
    return undefined;
  }
}

/** The user column `--user-id` filters on: `userId` or `user_id`, whichever the source has. */
function userIdColumn(byName: Map<string, PgColumn>, label: string): PgColumn {
  const col = byName.get("userId") ?? byName.get("user_id");
  if (!col) {
    throw configError(
      `--user-id needs a \`userId\` or \`user_id\` column; ${label} has ${[...byName.keys()].join(", ")}`,
      "use `where: { your_user_column: ID }` in the source config instead",
    );
  }
  return col;
}

function need(byName: Map<string, PgColumn>, name: string, setting: string, label: string): PgColumn {
  const col = byName.get(name);
  if (col) return col;
  const near = suggest(name, [...byName.keys()]);
  throw configError(
    `\`${setting}\` names column "${name}", which ${label} does not have`,
    near ? `did you mean "${near}"? (names are case-sensitive)` : `columns: ${[...byName.keys()].join(", ")}`,
  );
}

function configError(message: string, hint?: string): SluiceError {
  return new SluiceError(message, { component: COMPONENT, stage: "config", ...(hint ? { hint } : {}), exitCode: 2 });
}
