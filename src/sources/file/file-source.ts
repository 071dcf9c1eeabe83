import type { FileSourceConfig } from "../../config/spec.js";
import { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import type { ExtractResult, Source, SourceContext } from "../source.js";
import type { FileBatch } from "./file-batch.js";
import { readCsv } from "./read-csv.js";
import { deltaColumns, deltaSnapshotOf, readDeltaTable } from "./read-delta-table.js";
import { readJsonl } from "./read-jsonl.js";
import { readParquet } from "./read-parquet.js";
import { isGlob, type ResolvedFiles, resolveFiles } from "./resolve-files.js";

/**
 * The `file` source (SPEC section 5): JSONL/NDJSON, CSV or Parquet files,
 * one path, a glob or a list of them, relative to the config file.
 *
 * Every run reads all matching files as one batch (`extent: replace`); the
 * relation has the records in file order, columns in source order, and
 * `_source_pos` = "<file>:<line>" (Parquet: "<file>:row N"). Text formats
 * give VARCHAR columns when the pipeline has a contract (the contract stage
 * casts and reports bad values per row), detected types otherwise. Records
 * that cannot be parsed are returned as `unparseable`, never dropped.
 */
export class FileSource implements Source {
  constructor(private readonly config: FileSourceConfig) {}

  async extract(ctx: SourceContext): Promise<ExtractResult> {
    if (this.config.format === "delta") return readDeltaTable(ctx, this.config);
    const resolved = await resolveFiles(this.config, ctx.configDir, ctx.engine);
    const started = performance.now();
    const batch = await this.read(ctx, resolved);
    const description = describe(resolved);
    ctx.progress.update(batch.rows);
    ctx.log.debug(
      `file source: ${batch.rows} records${batch.unparseable ? ` and ${batch.unparseable.rows} unparseable` : ""} ` +
        `from ${description} (${resolved.format}, ${batch.readPath} path) in ${Math.round(performance.now() - started)} ms`,
    );
    const { materialize } = batch;
    return {
      relation: batch.relation,
      rows: batch.rows,
      ...(batch.unparseable ? { unparseable: batch.unparseable } : {}),
      ...(materialize ? { materialize: () => materialize() } : {}),
      extent: "replace",
      description,
    };
  }

  /** Lists the matching files with their sizes, or throws the error `extract` would. */
  async check(ctx: Pick<SourceContext, "configDir">): Promise<string> {
    const engine = await Engine.open();
    try {
      if (this.config.format === "delta") {
        const snapshot = await deltaSnapshotOf(this.config, ctx.configDir, engine);
        return `delta table ${String(this.config.path)}: version ${snapshot.version}, ${snapshot.files.length} files`;
      }
      const resolved = await resolveFiles(this.config, ctx.configDir, engine);
      const total = resolved.files.reduce((n, f) => n + f.bytes, 0);
      const summary = `${describe(resolved)} (${resolved.format}, ${formatBytes(total)})`;
      if (resolved.patterns.length === 1 && !isGlob(resolved.patterns[0]!)) return summary;
      const shown = resolved.files.slice(0, 10).map((f) => `${f.display} ${formatBytes(f.bytes)}`);
      const more = resolved.files.length > 10 ? `, and ${resolved.files.length - 10} more` : "";
      return `${summary}: ${shown.join(", ")}${more}`;
    } finally {
      engine.close();
    }
  }

  /** The files' columns as DuckDB's reader detects them (all files, by name). */
  async columns(ctx: Pick<SourceContext, "configDir" | "engine">): Promise<{ name: string; type: string }[]> {
    if (this.config.format === "delta") return deltaColumns(this.config, ctx.configDir, ctx.engine);
    const resolved = await resolveFiles(this.config, ctx.configDir, ctx.engine);
    const paths = `[${resolved.files.map((f) => literal(f.path)).join(", ")}]`;
    const c = this.config;
    const reader = {
      jsonl: `read_json(${paths}, format = 'newline_delimited', records = true, union_by_name = true)`,
      csv: `read_csv(${paths}, header = ${c.header}, delim = ${literal(c.delimiter)}, quote = ${literal(c.quote)}, union_by_name = true)`,
      parquet: `read_parquet(${paths}, union_by_name = true)`,
    }[resolved.format];
    const rows = await ctx.engine.all<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM ${reader}`,
      "check",
    );
    return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
  }

  private read(ctx: SourceContext, resolved: ResolvedFiles): Promise<FileBatch> {
    switch (resolved.format) {
      case "jsonl":
        return readJsonl(ctx, resolved.files);
      case "csv":
        return readCsv(ctx, resolved.files, this.config);
      case "parquet":
        return readParquet(ctx, resolved.files, ctx.configDir);
    }
  }
}

/** "events.jsonl" for one plain path, "3 files matching events/*.jsonl" otherwise. */
function describe(resolved: ResolvedFiles): string {
  const { files, patterns } = resolved;
  if (patterns.length === 1 && !isGlob(patterns[0]!)) return files[0]!.display;
  return `${files.length} file${files.length === 1 ? "" : "s"} matching ${patterns.join(", ")}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
