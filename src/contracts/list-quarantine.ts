import { existsSync, readdirSync } from "node:fs";
import { Engine } from "../engine/engine.js";
import { literal } from "../engine/sql.js";
import { SluiceError } from "../errors.js";
import { naturalOrder, QUARANTINE_META_COLUMNS, quarantineDir, quarantineFile } from "./quarantine-file.js";

/** One rule a quarantined row broke. */
export interface QuarantineFailure {
  readonly column: string | null;
  readonly rule: string;
  readonly value: string | null;
  readonly detail: string | null;
}

/** One quarantined row, as `sluice quarantine` shows it. */
export interface QuarantinedRow {
  /** The run whose quarantine file holds the row (the file's name). */
  readonly run_id: string;
  readonly source_pos: string | null;
  readonly failures: QuarantineFailure[];
  /** The original row, every value as text (NULL kept). Empty for unparseable records. */
  readonly row: Record<string, string | null>;
  /** Input text of a record that could not be parsed. */
  readonly raw: string | null;
}

export interface QuarantineListing {
  /** Quarantined rows in the files listed (all of them, not just `rows`). */
  readonly total: number;
  /** Runs with a quarantine file, oldest first. */
  readonly runs: string[];
  /** The first `limit` rows: runs oldest first, rows in source order. */
  readonly rows: QuarantinedRow[];
}

/**
 * Reads a pipeline's quarantine files (`runId` given: that run's only), of the
 * runs `committed` accepts (the CLI passes the ledger: a file whose run left no
 * record belongs to a run still going or one that died before its record).
 * Contract: read-only; at most `limit` rows reach JavaScript. A run without
 * a quarantine file is an error naming the runs that have one.
 */
export async function listQuarantine(
  dataDir: string,
  pipeline: string,
  opts: { runId?: string; limit: number; committed?: (runId: string) => boolean },
): Promise<QuarantineListing> {
  const dir = quarantineDir(dataDir, pipeline);
  const runs = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".parquet") && !f.startsWith("."))
        .map((f) => f.slice(0, -".parquet".length))
        .filter((r) => opts.committed?.(r) ?? true)
        .sort()
    : [];
  if (opts.runId && !runs.includes(opts.runId)) {
    throw new SluiceError(`run ${opts.runId} of \`${pipeline}\` has no quarantined rows`, {
      component: "quarantine",
      stage: "quarantine",
      hint: runs.length
        ? `runs with quarantined rows: ${runs.join(", ")}`
        : `\`${pipeline}\` has no quarantined rows at all`,
    });
  }
  const chosen = opts.runId ? [opts.runId] : runs;
  if (chosen.length === 0) return { total: 0, runs, rows: [] };

  const files = chosen.map((r) => quarantineFile(dataDir, pipeline, r));
  const scan = `read_parquet([${files.map(literal).join(", ")}], union_by_name = true, filename = '__sluice_file')`;
  const engine = await Engine.open();
  try {
    const meta = new Set<string>([...QUARANTINE_META_COLUMNS, "__sluice_file"]);
    const original = (await engine.columns(scan)).map((c) => c.name).filter((c) => !meta.has(c));
    const total = await engine.count(scan);
    const raw = await engine.all<Record<string, unknown>>(
      `SELECT * FROM ${scan} ORDER BY __sluice_file, ${naturalOrder("_source_pos")} LIMIT ${Math.max(0, Math.floor(opts.limit))}`,
      "quarantine",
    );
    const rows = raw.map((r): QuarantinedRow => {
      const file = String(r.__sluice_file);
      const row: Record<string, string | null> = {};
      for (const c of original) row[c] = r[c] === null || r[c] === undefined ? null : String(r[c]);
      return {
        run_id: file.slice(file.lastIndexOf("/") + 1, -".parquet".length),
        source_pos: (r._source_pos as string | null) ?? null,
        failures: ((r._failures as QuarantineFailure[] | null) ?? []).map((f) => ({
          column: f.column ?? null,
          rule: f.rule,
          value: f.value ?? null,
          detail: f.detail ?? null,
        })),
        row,
        raw: (r._raw as string | null) ?? null,
      };
    });
    return { total, runs, rows };
  } finally {
    engine.close();
  }
}

/** `eventType: enum "lessonstart"; timestamp: not_future "2031-01-01 ..."` */
export function formatFailures(failures: readonly QuarantineFailure[]): string {
  return failures
    .map(
      (f) =>
        `${f.column ? `${f.column}: ` : ""}${f.rule}${f.value === null ? "" : ` ${JSON.stringify(f.value.length > 40 ? `${f.value.slice(0, 37)}...` : f.value)}`}`,
    )
    .join("; ");
}
