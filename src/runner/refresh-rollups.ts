import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadedConfig } from "../config/load-config.js";
import type { RollupConfig } from "../config/rollup-spec.js";
import type { SluiceConfig } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { ident } from "../engine/sql.js";
import { asSluiceError } from "../errors.js";
import type { RunRecord } from "../plan/run-record.js";
import { writeFileAtomic } from "../util/atomic.js";
import { safeSegment } from "../util/confine.js";
import type { Logger } from "../util/logger.js";
import { redactSecrets } from "../util/redact.js";

export type RollupResult = NonNullable<RunRecord["rollups"]>[number];

/** Default `min_interval_seconds` after a stream micro-batch (batch runs: 0, every run). */
export const STREAM_ROLLUP_INTERVAL_S = 60;
/** A warehouse another process holds: tried this many times, 500 ms apart. */
const LOCK_ATTEMPTS = 6;

/**
 * The rollups a pipeline's successful run refreshes: those listing it in `after`, or without
 * `after`, those whose SQL names one of its duckdb sinks' tables as `schema.table` (quoted or
 * not, any case).
 */
export function rollupsAfter(config: SluiceConfig, pipeline: string): [string, RollupConfig][] {
  const tables = (config.pipelines[pipeline]?.sinks ?? []).flatMap((s) =>
    s.type === "duckdb" ? [[s.schema, s.table] as const] : [],
  );
  return Object.entries(config.rollups).filter(([, r]) =>
    r.after ? r.after.includes(pipeline) : tables.some(([schema, table]) => names(r.sql, schema, table)),
  );
}

function names(sql: string, schema: string, table: string): boolean {
  const part = (name: string) => `(?:"${escapeRegExp(name.replaceAll('"', '""'))}"|${escapeRegExp(name)}\\b)`;
  return new RegExp(`(?<![\\w."])${part(schema)}\\s*\\.\\s*${part(table)}`, "i").test(sql);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Rebuilds the rollups of `pipeline` in the warehouse after its run succeeded and committed: per
 * rollup one transaction `CREATE SCHEMA IF NOT EXISTS; CREATE OR REPLACE TABLE schema.table AS
 * (sql)`, so a reader sees the old table or the new one, never a partial one. A rollup refreshed
 * less than `min_interval_seconds` ago (default 60 s for a stream's micro-batches, 0 otherwise;
 * the last refresh is kept in data_dir/rollups/<name>.json) is skipped. A warehouse another process
 * holds is tried again for 3 s. Never throws: a rollup that fails is `skipped` with why, and a
 * warning (the run's data is committed; the next run refreshes it).
 */
export async function refreshRollups(
  loaded: LoadedConfig,
  record: RunRecord,
  log: Logger,
  opts: { streaming: boolean; now?: Date },
): Promise<{ results: RollupResult[]; warnings: string[] }> {
  const due = rollupsAfter(loaded.config, record.pipeline);
  const results: RollupResult[] = [];
  const warnings: string[] = [];
  if (due.length === 0) return { results, warnings };
  const now = opts.now ?? new Date();
  let engine: Engine | undefined;
  try {
    for (const [name, rollup] of due) {
      const table = `${rollup.schema}.${rollup.table ?? name}`;
      const t0 = performance.now();
      const interval = rollup.min_interval_seconds ?? (opts.streaming ? STREAM_ROLLUP_INTERVAL_S : 0);
      try {
        const last = lastRefresh(loaded.dataDir, name);
        if (interval > 0 && last && now.getTime() - Date.parse(last.refreshed_at) < interval * 1000) {
          const skipped = `refreshed at ${last.refreshed_at} (min_interval_seconds ${interval})`;
          results.push({ name, table, ms: 0, skipped });
          continue;
        }
        engine ??= await openWarehouse(loaded);
        const rows = await rebuild(engine, rollup, rollup.table ?? name);
        const ms = Math.round(performance.now() - t0);
        results.push({ name, table, rows, ms });
        saveRefresh(loaded.dataDir, name, { refreshed_at: now.toISOString(), run_id: record.run_id, rows, ms });
        log.info(`rollup ${name}: ${table} refreshed (${rows} rows, ${ms} ms)`);
      } catch (err) {
        const why = redactSecrets(asSluiceError(err, "rollups", "rollup").message);
        results.push({ name, table, ms: Math.round(performance.now() - t0), skipped: why });
        const warning = `rollup ${name} not refreshed (the run's data is committed; the next run tries again): ${why}`;
        warnings.push(warning);
        log.warn(warning);
      }
    }
  } finally {
    engine?.close();
  }
  return { results, warnings };
}

async function rebuild(engine: Engine, rollup: RollupConfig, table: string): Promise<number> {
  const target = `${ident(rollup.schema)}.${ident(table)}`;
  await engine.run("BEGIN TRANSACTION", "rollup");
  try {
    await engine.run(`CREATE SCHEMA IF NOT EXISTS ${ident(rollup.schema)}`, "rollup");
    await engine.run(`CREATE OR REPLACE TABLE ${target} AS (${rollup.sql.trim().replace(/;\s*$/, "")})`, "rollup");
    const row = await engine.one<{ n: bigint | number }>(`SELECT count(*) AS n FROM ${target}`, "rollup");
    await engine.run("COMMIT", "rollup");
    return Number(row?.n ?? 0);
  } catch (err) {
    await engine.run("ROLLBACK", "rollup").catch(() => undefined);
    throw err;
  }
}

/** The warehouse file, opened read-write; a lock another process holds is waited for a few seconds. */
async function openWarehouse(loaded: LoadedConfig): Promise<Engine> {
  const { engine } = loaded.config;
  for (let attempt = 1; ; attempt++) {
    try {
      mkdirSync(join(loaded.warehousePath, ".."), { recursive: true });
      return await Engine.open({
        path: loaded.warehousePath,
        ...(engine.memory_limit ? { memoryLimit: engine.memory_limit } : {}),
        ...(engine.threads ? { threads: engine.threads } : {}),
      });
    } catch (err) {
      if (attempt >= LOCK_ATTEMPTS || !/lock/i.test((err as Error).message)) throw err;
      await new Promise((done) => setTimeout(done, 500));
    }
  }
}

interface Refresh {
  refreshed_at: string;
  run_id: string;
  rows: number;
  ms: number;
}

function refreshFile(dataDir: string, name: string): string {
  return join(dataDir, "rollups", `${safeSegment("rollup name", name)}.json`);
}

/** The last refresh of rollup `name` (data_dir/rollups/<name>.json), if any. */
export function lastRefresh(dataDir: string, name: string): Refresh | undefined {
  const file = refreshFile(dataDir, name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Refresh;
  } catch {
    return undefined;
  }
}

function saveRefresh(dataDir: string, name: string, refresh: Refresh): void {
  writeFileAtomic(refreshFile(dataDir, name), `${JSON.stringify(refresh, null, 2)}\n`);
}
