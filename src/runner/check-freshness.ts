import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { FreshnessConfig } from "../config/alert-spec.js";
import type { LoadedConfig } from "../config/load-config.js";
import type { AlertConfig, ParquetSinkConfig, PipelineConfig } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { isDeltaTable, readDeltaSnapshot } from "../lake/delta/index.js";
import type { Incident } from "../quality/alert-incidents.js";
import { ruleKey } from "../quality/evaluate-alerts.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { redactSecrets } from "../util/redact.js";
import { type JudgedRule, notifyAlerts } from "./notify-alerts.js";

/** One freshness rule checked once. */
export interface FreshnessCheck {
  readonly pipeline: string;
  readonly rule: string;
  /** The sink path and date column checked. */
  readonly sink?: string;
  readonly column?: string;
  /** The partition that is due ('YYYY-MM-DD') and since when (ISO). */
  readonly partition?: string;
  readonly due?: string;
  readonly present?: boolean;
  readonly firing: boolean;
  /** Why the rule could not be checked (no partitioned sink, an unreadable table). */
  readonly problem?: string;
}

export interface FreshnessResult {
  readonly checks: FreshnessCheck[];
  /** Incidents this check opened (notified as firing) and resolved (notified as resolved). */
  readonly fired: Incident[];
  readonly resolved: Incident[];
  readonly warnings: string[];
}

/**
 * Checks every `freshness` alert rule of the config at `now` ("yesterday's partition present by
 * 08:00"): the partition that is due is the newest day whose deadline (`by` on the day after it,
 * for `partition: yesterday`; on the day itself for `today`, in `timezone`) has passed, so one
 * incident per rule opens when a deadline passes without its partition and resolves when the due
 * partition is there (a late load, or the next day's). Incidents and notifications as for run
 * alerts (notify-alerts.ts; state under data_dir/alerts). Called by `sluice alerts` (cron) and by
 * `sluice serve`'s scheduler on its clock. A rule that cannot be checked is reported, not fired.
 */
export async function checkFreshness(
  loaded: LoadedConfig,
  now: Date,
  opts: { log?: Logger; pipelines?: readonly string[] } = {},
): Promise<FreshnessResult> {
  const log = opts.log ?? silentLogger();
  const checks: FreshnessCheck[] = [];
  const fired: Incident[] = [];
  const resolved: Incident[] = [];
  const warnings: string[] = [];
  for (const [pipeline, config] of Object.entries(loaded.config.pipelines)) {
    if (opts.pipelines && !opts.pipelines.includes(pipeline)) continue;
    const judged: JudgedRule[] = [];
    for (const rule of config.alerts) {
      if (!rule.freshness) continue;
      const check = await checkRule(loaded.dataDir, pipeline, config, rule, now);
      checks.push(check);
      if (check.problem) {
        warnings.push(`freshness of ${pipeline} not checked: ${check.problem}`);
        continue;
      }
      const message = `${pipeline}: partition ${check.column}=${check.partition} of ${check.sink} is not present (due ${rule.freshness.by} ${rule.freshness.timezone}, ${check.due})`;
      judged.push({
        rule,
        key: check.rule,
        metric: "freshness",
        ...(check.firing ? { fired: { value: null, message } } : {}),
      });
    }
    if (judged.length === 0) continue;
    const changes = await notifyAlerts(loaded.dataDir, loaded.config.alerting, pipeline, judged, now, log);
    fired.push(...changes.opened);
    resolved.push(...changes.resolved);
    warnings.push(...changes.warnings);
  }
  return { checks, fired, resolved, warnings };
}

async function checkRule(
  dataDir: string,
  pipeline: string,
  config: PipelineConfig,
  rule: AlertConfig,
  now: Date,
): Promise<FreshnessCheck> {
  const f = rule.freshness as FreshnessConfig;
  const base = { pipeline, rule: ruleKey(rule), firing: false };
  const sink = config.sinks.find(
    (s): s is ParquetSinkConfig =>
      s.type === "parquet" && s.layout === "partitioned" && (f.sink === undefined || s.path === f.sink),
  );
  if (!sink) {
    return { ...base, problem: `no partitioned parquet sink${f.sink ? ` with path ${f.sink}` : ""}` };
  }
  const column = f.column ?? dateColumn(sink);
  let due: { partition: string; due: string };
  try {
    due = duePartition(f, now);
  } catch (err) {
    return { ...base, sink: sink.path, column, problem: (err as Error).message };
  }
  try {
    const present = await partitionPresent(resolve(dataDir, sink.path), column, due.partition);
    return { ...base, sink: sink.path, column, ...due, present, firing: !present };
  } catch (err) {
    return { ...base, sink: sink.path, column, ...due, problem: redactSecrets((err as Error).message) };
  }
}

/** The sink's date partition column: the first of `partition_by` naming a date, else event_date. */
function dateColumn(sink: ParquetSinkConfig): string {
  const by = sink.partition_by ?? [];
  return by.find((c) => /date|day/i.test(c)) ?? by[0] ?? "event_date";
}

/**
 * The partition due at `now`: for `yesterday`, yesterday's (local date in `timezone`) once `by` has
 * passed today, else the day before's; for `today`, today's once `by` has passed, else yesterday's.
 */
export function duePartition(f: FreshnessConfig, now: Date): { partition: string; due: string } {
  const local = localParts(now, f.timezone);
  const [h, m] = f.by.split(":").map(Number) as [number, number];
  const passed = local.hour * 60 + local.minute >= h * 60 + m;
  const dayMs = 86_400_000;
  const today = Date.UTC(local.year, local.month - 1, local.day);
  const deadlineDay = passed ? today : today - dayMs;
  const partitionDay = f.partition === "yesterday" ? deadlineDay - dayMs : deadlineDay;
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { partition: iso(partitionDay), due: `${iso(deadlineDay)}T${f.by}` };
}

function localParts(
  now: Date,
  timeZone: string,
): { year: number; month: number; day: number; hour: number; minute: number } {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      hourCycle: "h23",
    });
  } catch {
    throw new Error(`unknown time zone \`${timeZone}\` (an IANA name such as Europe/Berlin)`);
  }
  const parts = Object.fromEntries(format.formatToParts(now).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
  };
}

/**
 * Whether the dataset at `root` has a live partition `column=date`: a Delta table's current
 * version has a file with that partition value; a Hive tree has a `column=date` folder (at any
 * depth) holding a Parquet file.
 */
async function partitionPresent(root: string, column: string, date: string): Promise<boolean> {
  if (!existsSync(root)) return false;
  if (isDeltaTable(root)) {
    const engine = await Engine.open({ threads: 1 });
    try {
      const snapshot = await readDeltaSnapshot(root, {}, engine);
      return snapshot.files.some((file) => String(file.partitionValues[column] ?? "").slice(0, 10) === date);
    } finally {
      engine.close();
    }
  }
  return hivePartition(root, `${column}=${date}`, 4);
}

function hivePartition(dir: string, name: string, depth: number): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name.startsWith("_")) continue;
    const path = join(dir, entry.name);
    const isDir =
      entry.isDirectory() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory());
    if (!isDir) continue;
    if (entry.name === name && hasParquet(path)) return true;
    if (depth > 0 && entry.name.includes("=") && hivePartition(path, name, depth - 1)) return true;
  }
  return false;
}

function hasParquet(dir: string): boolean {
  return readdirSync(dir, { withFileTypes: true }).some(
    (e) =>
      (e.isFile() && e.name.endsWith(".parquet") && !e.name.startsWith(".")) ||
      (e.isDirectory() && !e.name.startsWith(".") && hasParquet(join(dir, e.name))),
  );
}

/**
 * For a long-lived driver (`sluice serve`'s scheduler): checks freshness now and then every
 * `everyMs` (default 60 s) on its clock, one check at a time, until `stop()`. Nothing runs when the
 * config has no freshness rule. A check that throws is logged, never fatal.
 */
export function freshnessClock(
  loaded: LoadedConfig,
  opts: { everyMs?: number; now?: () => Date; log?: Logger; onResult?: (result: FreshnessResult) => void } = {},
): { stop(): void } {
  const any = Object.values(loaded.config.pipelines).some((p) => p.alerts.some((r) => r.freshness));
  if (!any) return { stop() {} };
  const log = opts.log ?? silentLogger();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const result = await checkFreshness(loaded, (opts.now ?? (() => new Date()))(), { log });
      for (const w of result.warnings) log.warn(w);
      opts.onResult?.(result);
    } catch (err) {
      log.error(`freshness check failed: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), opts.everyMs ?? 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
