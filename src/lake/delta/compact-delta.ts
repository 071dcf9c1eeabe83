import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { commitDelta } from "./commit-delta.js";
import type { DeltaAction } from "./delta-actions.js";
import { deltaScanSql } from "./delta-scan-sql.js";
import type { DeltaFile } from "./delta-snapshot.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";
import { writeDeltaFiles } from "./write-delta-files.js";

export interface CompactResult {
  /** The version compaction committed, or the version read when there was nothing to compact. */
  readonly version: number;
  readonly partitions: number;
  readonly filesRemoved: number;
  readonly filesAdded: number;
}

/**
 * `sluice compact`: rewrites every partition that has at least `minFiles` files as one file, in ONE
 * commit that removes the old files and adds the new ones, all with `dataChange: false` (the rows are
 * the same; readers of change feeds skip it). A reader sees the version before or after it, never a
 * mix, so no row is ever doubled or missing. A concurrent append commits on its own version and its
 * files are untouched; a concurrent commit that removed one of the same files makes this one a
 * conflict (nothing is committed; run it again). Old files stay on disk for readers of older versions
 * until `vacuum` removes them.
 */
export async function compactDelta(
  engine: Engine,
  root: string,
  options: {
    readonly minFiles?: number;
    readonly runId?: string;
    /** Only files smaller than this many bytes are compacted (a file that size is done: rewriting it again would cost the whole partition every time). */
    readonly smallerThan?: number;
  } = {},
): Promise<CompactResult> {
  const table = resolve(root);
  const snapshot = await readDeltaSnapshot(table, {}, engine);
  const groups = new Map<string, DeltaFile[]>();
  for (const f of snapshot.files) {
    if (options.smallerThan !== undefined && f.size >= options.smallerThan) continue;
    const key = JSON.stringify(f.partitionValues);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const chosen = [...groups.values()].filter((g) => g.length >= (options.minFiles ?? 2));
  const old = chosen.flat();
  if (old.length === 0) return { version: snapshot.version, partitions: 0, filesRemoved: 0, filesAdded: 0 };

  const input = `compact_${randomUUID().replaceAll("-", "")}`;
  await engine.run(
    `CREATE TEMP VIEW ${input} AS SELECT * FROM ${deltaScanSql({ ...snapshot, files: old })}`,
    "compact",
  );
  try {
    const adds = await writeDeltaFiles(engine, table, input, {
      columns: await engine.columns(input),
      schema: snapshot.metadata.schema,
      partitionColumns: snapshot.metadata.partitionColumns,
      commitId: randomUUID(),
    });
    const now = Date.now();
    const actions: DeltaAction[] = [
      ...old.map((f) => ({ remove: { path: f.relPath, deletionTimestamp: now, dataChange: false } })),
      ...adds.map((a) => ({ add: { ...a, dataChange: false } })),
    ];
    const result = await commitDelta(table, actions, {
      readVersion: snapshot.version,
      operation: "OPTIMIZE",
      operationParameters: { minFiles: options.minFiles ?? 2 },
      ...(options.runId ? { runId: options.runId } : {}),
    });
    return { version: result.version, partitions: chosen.length, filesRemoved: old.length, filesAdded: adds.length };
  } finally {
    await engine.run(`DROP VIEW IF EXISTS ${input}`, "compact");
  }
}

/** Whether `root` holds a Delta table (a `_delta_log` folder). */
export function isDeltaTable(root: string): boolean {
  return existsSync(join(root, "_delta_log"));
}
