import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import type { LoadedConfig } from "../config/load-config.js";
import { Engine } from "../engine/engine.js";
import { ident, literal } from "../engine/sql.js";
import { ConfigError, SluiceError } from "../errors.js";
import type { RunRecord } from "../plan/run-record.js";
import { DEAD_LETTER_META_COLUMNS, DeadLetterSource } from "../sources/deadletter/deadletter-source.js";
import { safeSegment } from "../util/confine.js";
import { notReplayable, type ReplayOptions } from "./replay-quarantine.js";
import { runPipeline } from "./run-pipeline.js";

/** `<data_dir>/deadletter/<pipeline>`: the files waiting for a replay. */
export function deadLetterDir(dataDir: string, pipeline: string): string {
  return join(dataDir, "deadletter", safeSegment("pipeline", pipeline));
}

/** Where a replayed file is moved once every sink holds its records: `deadletter/<pipeline>/replayed/`. */
export function replayedDir(dataDir: string, pipeline: string): string {
  return join(deadLetterDir(dataDir, pipeline), "replayed");
}

/** One dead-letter file as `sluice deadletter` lists it. */
export interface DeadLetterFile {
  /** The file's name in `deadletter/<pipeline>/`. */
  readonly file: string;
  /** The batch it came from (the file's stem). */
  readonly batch: string;
  /** `stream`: messages a stream could not process (`_raw`); `plan`: records with their columns. */
  readonly kind: "stream" | "plan";
  readonly rows: number;
  /** The distinct errors (with `_stage` when the file has one), most frequent first. */
  readonly errors: readonly { readonly error: string; readonly stage?: string; readonly count: number }[];
  /** When the letters were written (`_dead_at`, else the file's mtime), ISO 8601. */
  readonly time: string;
  /** With `rows` asked for: the first records, each with its error. */
  readonly sample?: readonly { readonly source_pos?: string; readonly error: string; readonly record: string }[];
}

/** The files of `deadletter/<pipeline>/` (`*.parquet`, not hidden: a writer's files aside are `.`-named), by name. */
export function deadLetterFiles(dataDir: string, pipeline: string): string[] {
  const dir = deadLetterDir(dataDir, pipeline);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".parquet") && !f.startsWith(".") && statSync(join(dir, f)).isFile())
    .sort();
}

/** Reads every dead-letter file of a pipeline: rows, errors grouped, time, and up to `sampleRows` records per file. */
export async function listDeadLetters(dataDir: string, pipeline: string, sampleRows = 0): Promise<DeadLetterFile[]> {
  const files = deadLetterFiles(dataDir, pipeline);
  if (files.length === 0) return [];
  const engine = await Engine.open();
  try {
    const out: DeadLetterFile[] = [];
    for (const file of files) {
      const path = join(deadLetterDir(dataDir, pipeline), file);
      const scan = `read_parquet(${literal(path)})`;
      const columns = (await engine.columns(scan)).map((c) => c.name);
      const has = (c: string) => columns.includes(c);
      const stage = has("_stage") ? "_stage" : "NULL";
      const errors = await engine.all<{ error: string | null; stage: string | null; count: bigint }>(
        `SELECT ${has("_error") ? "_error" : "NULL"} AS error, ${stage} AS stage, count(*) AS count FROM ${scan}
         GROUP BY ALL ORDER BY count DESC, error`,
        "deadletter",
      );
      const dead = has("_dead_at")
        ? (await engine.one<{ t: number | bigint | null }>(`SELECT epoch_ms(max(_dead_at)) AS t FROM ${scan}`))?.t
        : null;
      const record = columns.filter((c) => !DEAD_LETTER_META_COLUMNS.has(c) && c !== "_source_pos");
      const body = has("_raw")
        ? "_raw"
        : `CAST(to_json({${record.map((c) => `${literal(c)}: ${ident(c)}`).join(", ")}}) AS VARCHAR)`;
      const sample =
        sampleRows > 0
          ? await engine.all<{ source_pos: string | null; error: string | null; record: string }>(
              `SELECT ${has("_source_pos") ? "_source_pos" : "NULL"} AS source_pos, ${has("_error") ? "_error" : "NULL"} AS error,
                 ${body} AS record FROM ${scan} LIMIT ${Math.floor(sampleRows)}`,
              "deadletter",
            )
          : undefined;
      out.push({
        file,
        batch: file.replace(/(\.rows)?\.parquet$/, ""),
        kind: has("_raw") ? "stream" : "plan",
        rows: errors.reduce((n, e) => n + Number(e.count), 0),
        errors: errors.map((e) => ({
          error: e.error ?? "(no error recorded)",
          ...(e.stage ? { stage: e.stage } : {}),
          count: Number(e.count),
        })),
        time: (dead != null ? new Date(Number(dead)) : statSync(path).mtime).toISOString(),
        ...(sample
          ? {
              sample: sample.map((r) => ({
                ...(r.source_pos ? { source_pos: r.source_pos } : {}),
                error: r.error ?? "",
                record: r.record,
              })),
            }
          : {}),
      });
    }
    return out;
  } finally {
    engine.close();
  }
}

export interface DeadLetterReplay {
  readonly file: string;
  readonly record: RunRecord;
  /** Where the file went once its records were committed (`deadletter/<pipeline>/replayed/...`). */
  readonly movedTo?: string;
}

/**
 * `sluice replay PIPELINE --deadletter [FILE]`: sends the records of one dead-letter file (or of
 * every file, one run each, in name order, stopping at the first that fails) through the
 * pipeline's current transforms, contract, dedup and sinks, as an `append` batch (see
 * DeadLetterSource for what is read).
 *
 * Exactly once: the batch id is derived from the file's name and bytes, so a replay retried or
 * repeated after a crash is the same batch and the sinks that committed it skip it (`held`). Only
 * after the run succeeded (every sink holds the batch, its record in the ledger) is the file moved
 * to `deadletter/<pipeline>/replayed/` (renamed; a name taken there gets a suffix): a failed
 * replay leaves it where it was, and a crash between the commit and the move replays it again as
 * the same batch, which writes nothing. Rows the contract still rejects go to the replay run's
 * quarantine file, as in any run. A plan's dead letters were stored after some transforms, so the
 * ones that cannot run twice on a row are refused (as `sluice replay --run`) unless
 * `skipTransforms`; a stream's are the raw messages and always take the transforms.
 */
export async function replayDeadLetters(
  loaded: LoadedConfig,
  pipeline: string,
  file: string | undefined,
  options: ReplayOptions = {},
): Promise<DeadLetterReplay[]> {
  const configured = loaded.config.pipelines[pipeline];
  if (!configured) {
    throw new ConfigError(
      `no pipeline named \`${pipeline}\` in ${loaded.path}`,
      `pipelines defined: ${Object.keys(loaded.config.pipelines).join(", ") || "none"}`,
    );
  }
  const available = deadLetterFiles(loaded.dataDir, pipeline);
  const wanted = file === undefined ? available : [basename(file)];
  if (file !== undefined && !available.includes(wanted[0]!)) {
    throw new SluiceError(`\`${pipeline}\` has no dead-letter file ${basename(file)}`, {
      component: "deadletter",
      stage: "replay",
      hint: `list them with \`sluice deadletter ${pipeline}\` (replayed files are in deadletter/${pipeline}/replayed/)`,
    });
  }
  const { skipTransforms, ...runOptions } = options;
  const results: DeadLetterReplay[] = [];
  for (const name of wanted) {
    const path = join(deadLetterDir(loaded.dataDir, pipeline), name);
    const stream = await isStreamFile(path);
    const unsafe = stream || skipTransforms ? [] : notReplayable(configured.transforms);
    if (unsafe.length > 0) {
      throw new ConfigError(
        `${name} holds records stored after the transforms, and ${unsafe.join(", ")} cannot run twice on a row`,
        `replay through the contract and dedup only: sluice replay ${pipeline} --deadletter ${name} --skip-transforms`,
      );
    }
    const effective: LoadedConfig = skipTransforms
      ? {
          ...loaded,
          config: {
            ...loaded.config,
            pipelines: { ...loaded.config.pipelines, [pipeline]: { ...configured, transforms: [] } },
          },
        }
      : loaded;
    const stem = name.replace(/\.parquet$/, "");
    const hash = createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 12);
    const record = await runPipeline(effective, pipeline, {
      ...runOptions,
      source: new DeadLetterSource(path, stem),
      batchId: `deadletter-${stem}-${hash}`,
      driver: "replay",
    });
    if (record.status !== "succeeded") {
      results.push({ file: name, record });
      break;
    }
    results.push({ file: name, record, movedTo: moveReplayed(loaded.dataDir, pipeline, name) });
  }
  return results;
}

/** Moves a replayed file into `replayed/` (one rename), keeping any file of that name already there. */
function moveReplayed(dataDir: string, pipeline: string, name: string): string {
  const dir = replayedDir(dataDir, pipeline);
  mkdirSync(dir, { recursive: true });
  let target = join(dir, name);
  for (let n = 2; existsSync(target); n++) target = join(dir, name.replace(/\.parquet$/, `.${n}.parquet`));
  renameSync(join(deadLetterDir(dataDir, pipeline), name), target);
  return `deadletter/${pipeline}/replayed/${basename(target)}`;
}

async function isStreamFile(path: string): Promise<boolean> {
  const engine = await Engine.open();
  try {
    return (await engine.columns(`read_parquet(${literal(path)})`)).some((c) => c.name === "_raw");
  } finally {
    engine.close();
  }
}
