import { statSync } from "node:fs";
import { basename, extname, isAbsolute, relative, resolve } from "node:path";
import type { FileSourceConfig } from "../../config/spec.js";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";

export type FileFormat = "jsonl" | "csv" | "parquet";

/** One input file of a file source. */
export interface InputFile {
  /** Absolute path. */
  readonly path: string;
  /** How positions and messages name it: the path relative to the config dir, or the basename outside it. */
  readonly display: string;
  readonly bytes: number;
  /** Last modification time (ms since the epoch, as `stat` gives it): with `bytes`, what `files: new` compares (unset: a file sluice wrote itself). */
  readonly mtimeMs?: number;
}

export interface ResolvedFiles {
  readonly files: readonly InputFile[];
  readonly format: FileFormat;
  /** The patterns as configured, for messages. */
  readonly patterns: readonly string[];
}

const EXTENSIONS: Record<string, FileFormat> = {
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".json": "jsonl",
  ".csv": "csv",
  ".parquet": "parquet",
};

/** True when a configured path is a glob pattern rather than one file. */
export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/**
 * Turns the configured `path` (one path, a glob, or a list of either,
 * relative to the config file's directory) into the files to read, in a
 * stable order: patterns in config order, each pattern's matches sorted,
 * duplicates dropped. Globbing is DuckDB's `glob()` (`*`, `**`, `?`, `[..]`).
 *
 * Throws a SluiceError naming the pattern and the directory it was resolved
 * in when a path does not exist or a glob matches nothing, and a config error
 * (exit 2) when the format cannot be told from the extensions.
 */
export async function resolveFiles(
  config: FileSourceConfig,
  configDir: string,
  engine: Engine,
): Promise<ResolvedFiles> {
  const patterns = Array.isArray(config.path) ? config.path : [config.path];
  const seen = new Set<string>();
  const files: InputFile[] = [];
  for (const pattern of patterns) {
    const abs = resolve(configDir, pattern);
    let matches: string[];
    if (isGlob(pattern)) {
      const rows = await engine.all<{ file: string }>(
        `SELECT file FROM glob(${literal(abs)}) ORDER BY file`,
        "extract",
      );
      matches = rows.map((r) => r.file).filter((f) => !basename(f).startsWith("."));
      if (matches.length === 0) {
        throw new SluiceError(`no files match \`${pattern}\` (resolved in ${configDir})`, {
          component: "source.file",
          stage: "extract",
          hint: "check the pattern and that the files exist; relative paths are relative to the config file's directory",
        });
      }
    } else {
      matches = [abs];
    }
    for (const path of matches) {
      if (seen.has(path)) continue;
      seen.add(path);
      const { size, mtimeMs } = fileStat(path, pattern, configDir);
      files.push({ path, display: displayName(path, configDir), bytes: size, mtimeMs });
    }
  }
  return { files, format: formatOf(config, files), patterns };
}

function fileStat(path: string, pattern: string, configDir: string): { size: number; mtimeMs: number } {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    throw new SluiceError(`input file \`${pattern}\` does not exist (resolved to ${path})`, {
      component: "source.file",
      stage: "extract",
      hint: `relative paths are relative to the config file's directory (${configDir})`,
    });
  }
  if (stat.isDirectory()) {
    throw new SluiceError(`input path \`${pattern}\` is a directory (${path})`, {
      component: "source.file",
      stage: "extract",
      hint: `name the files, e.g. \`${pattern.replace(/\/$/, "")}/*.jsonl\``,
    });
  }
  return { size: stat.size, mtimeMs: stat.mtimeMs };
}

function displayName(path: string, configDir: string): string {
  const rel = relative(configDir, path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? basename(path) : rel;
}

function formatOf(config: FileSourceConfig, files: readonly InputFile[]): FileFormat {
  // A Delta table is read by its log (read-delta-table.ts), never resolved as files.
  if (config.format && config.format !== "delta") return config.format;
  const byFormat = new Map<FileFormat | undefined, string[]>();
  for (const f of files) {
    const fmt = EXTENSIONS[extname(f.path).toLowerCase()];
    byFormat.set(fmt, [...(byFormat.get(fmt) ?? []), f.display]);
  }
  const unknown = byFormat.get(undefined);
  if (unknown) {
    throw new SluiceError(`cannot tell the format of ${unknown.slice(0, 3).join(", ")} from its extension`, {
      component: "config",
      stage: "config",
      hint: "set `format: jsonl | csv | parquet` on the source (known extensions: .jsonl .ndjson .json .csv .parquet)",
      exitCode: 2,
    });
  }
  if (byFormat.size > 1) {
    const list = [...byFormat].map(([fmt, names]) => `${names[0]} (${fmt})`).join(", ");
    throw new SluiceError(`the source's files have different formats: ${list}`, {
      component: "config",
      stage: "config",
      hint: "read one format per pipeline (narrow the pattern), or set `format:` if the extensions are misleading",
      exitCode: 2,
    });
  }
  return [...byFormat.keys()][0] ?? "jsonl";
}
