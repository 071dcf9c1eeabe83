import { isAbsolute, resolve } from "node:path";
import type { FileSourceConfig } from "../../config/spec.js";
import type { Engine } from "../../engine/engine.js";
import { SluiceError } from "../../errors.js";
import { createDeltaView, type DeltaSnapshot, duckdbType, readDeltaSnapshot } from "../../lake/delta/index.js";
import type { ExtractResult, SourceContext } from "../source.js";

/** The table folder a `format: delta` source names (one path, relative to the config file). */
function tableRoot(config: FileSourceConfig, configDir: string): string {
  const paths = Array.isArray(config.path) ? config.path : [config.path];
  if (paths.length !== 1) {
    throw new SluiceError(`a \`format: delta\` source reads one table, not ${paths.length} paths`, {
      component: "source.file",
      stage: "extract",
      hint: "set `path` to the table's folder (the one holding _delta_log/)",
      exitCode: 2,
    });
  }
  return isAbsolute(paths[0]!) ? paths[0]! : resolve(configDir, paths[0]!);
}

/** The snapshot the source reads: the latest version, or as of `version` / `timestamp` (time travel). */
export function deltaSnapshotOf(config: FileSourceConfig, configDir: string, engine: Engine): Promise<DeltaSnapshot> {
  const asOf =
    config.version !== undefined
      ? { version: config.version }
      : config.timestamp
        ? { timestamp: config.timestamp }
        : {};
  return readDeltaSnapshot(tableRoot(config, configDir), asOf, engine);
}

/**
 * `format: delta`: the table's snapshot as a view over exactly its active files (partition values
 * from the log, types from its schema), as a whole-dataset batch. Row counts come from the files'
 * `numRecords` stats when every file has them, else from one count.
 */
export async function readDeltaTable(ctx: SourceContext, config: FileSourceConfig): Promise<ExtractResult> {
  const snapshot = await deltaSnapshotOf(config, ctx.configDir, ctx.engine);
  const relation = ctx.tmpName("delta");
  await createDeltaView(ctx.engine, relation, snapshot);
  const counted = snapshot.files.map((f) => Number((f.stats as { numRecords?: unknown } | undefined)?.numRecords));
  const rows = counted.every((n) => Number.isInteger(n))
    ? counted.reduce((a, b) => a + b, 0)
    : await ctx.engine.count(relation);
  ctx.progress.update(rows);
  return {
    relation,
    rows,
    extent: "replace",
    description: `delta table ${String(config.path)} version ${snapshot.version} (${snapshot.files.length} file${snapshot.files.length === 1 ? "" : "s"})`,
  };
}

/** The table's columns at the version read, typed as DuckDB holds them. */
export async function deltaColumns(config: FileSourceConfig, configDir: string, engine: Engine) {
  const snapshot = await deltaSnapshotOf(config, configDir, engine);
  return snapshot.metadata.schema.fields.map((f) => ({ name: f.name, type: duckdbType(f.type) }));
}
