import type { FileSourceConfig } from "../../config/spec.js";
import { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import type { ExtractResult, Source, SourceContext } from "../source.js";
import type { FileBatch } from "./file-batch.js";
import { selectFiles } from "./new-files.js";
import { readCsv } from "./read-csv.js";
import { deltaColumns, deltaSnapshotOf, readDeltaTable } from "./read-delta-table.js";
import { readJsonl } from "./read-jsonl.js";
import { readParquet } from "./read-parquet.js";
import { type FileFormat, type InputFile, isGlob, type ResolvedFiles, resolveFiles } from "./resolve-files.js";

/**
 * The `file` source (SPEC section 5): JSONL/NDJSON, CSV or Parquet files,
 * one path, a glob or a list of them, relative to the config file.
 *
 * Every run reads all matching files as one batch (`extent: replace`), or,
 * with `files: new`, only the files not consumed yet as an `append` batch whose
 * state (the consumed files) moves once every sink committed (new-files.ts). The
 * relation has the records in file order, columns in source order, and
 * `_source_pos` = "<file>:<line>" (Parquet: "<file>:row N"). Text formats
 * give VARCHAR columns when the pipeline has a contract (the contract stage
 * casts and reports bad values per row), detected types otherwise. Records
 * that cannot be parsed are returned as `unparseable`, never dropped.
 */
export class FileSource implements Source {
  constructor(private readonly config: FileSourceConfig) {}

  async extract(ctx: SourceContext): Promise<ExtractResult> {
    if (this.config.format === "delta") {
      if (this.config.files === "new") throw deltaNewError();
      return readDeltaTable(ctx, this.config);
    }
    const resolved = await resolveFiles(this.config, ctx.configDir, ctx.engine);
    const selection = this.config.files === "new" ? selectFiles(ctx, resolved) : undefined;
    const batchOf = selection ? { ...resolved, files: selection.files } : resolved;
    const started = performance.now();
    const batch = batchOf.files.length
      ? await this.read(ctx, batchOf)
      : await this.emptyBatch(ctx, resolved.files.at(-1)!, resolved.format);
    const description = selection?.description ?? describe(resolved);
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
      extent: selection?.extent ?? "replace",
      ...(selection?.nextState ? { nextState: selection.nextState } : {}),
      ...(selection?.batchId ? { batchId: selection.batchId } : {}),
      description,
    };
  }

  /** Lists the matching files with their sizes, or throws the error `extract` would. */
  async check(ctx: Pick<SourceContext, "configDir">): Promise<string> {
    const engine = await Engine.open();
    try {
      if (this.config.format === "delta") {
        if (this.config.files === "new") throw deltaNewError();
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
    return this.describeFiles(ctx.engine, resolved.files, resolved.format);
  }

  /**
   * `files: new` with no new file: no rows, with the columns a read of the newest matching file
   * would give (DuckDB's reader sniffs them, reading a sample), so transforms and sinks see the
   * usual shape. With a contract every column is VARCHAR and its missing columns are added.
   */
  private async emptyBatch(ctx: SourceContext, newest: InputFile, format: FileFormat): Promise<FileBatch> {
    const { text, columns: contract, addMissing } = ctx.readHints;
    const found = await this.describeFiles(ctx.engine, [newest], format).catch(() => []);
    const names = new Set(found.map((c) => c.name));
    const cols = found
      .filter((c) => c.name !== "_source_pos")
      .map((c) => `NULL::${text ? "VARCHAR" : c.type} AS ${ident(c.name)}`);
    if (addMissing || found.length === 0) {
      for (const c of contract) if (!names.has(c)) cols.push(`NULL::VARCHAR AS ${ident(c)}`);
    }
    const relation = ctx.tmpName("file");
    await ctx.engine.run(
      `CREATE VIEW ${relation} AS SELECT ${[...cols, "NULL::VARCHAR AS _source_pos"].join(", ")} WHERE false`,
      "extract",
    );
    return { relation, rows: 0, readPath: "fast" };
  }

  private async describeFiles(engine: Engine, files: readonly InputFile[], format: FileFormat) {
    const paths = `[${files.map((f) => literal(f.path)).join(", ")}]`;
    const c = this.config;
    const reader = {
      jsonl: `read_json(${paths}, format = 'newline_delimited', records = true, union_by_name = true)`,
      csv: `read_csv(${paths}, header = ${c.header}, delim = ${literal(c.delimiter)}, quote = ${literal(c.quote)}, union_by_name = true)`,
      parquet: `read_parquet(${paths}, union_by_name = true)`,
    }[format];
    const rows = await engine.all<{ column_name: string; column_type: string }>(
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

function deltaNewError(): SluiceError {
  return new SluiceError("`files: new` does not apply to `format: delta`: a Delta table is read by its log", {
    component: "config",
    stage: "config",
    hint: "remove `files: new` (read a version with `version:` or `timestamp:`)",
    exitCode: 2,
  });
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
