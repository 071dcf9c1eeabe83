import { randomBytes } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";

/** The columns of a classic checkpoint (PROTOCOL.md "Checkpoint Schema"), as DuckDB types. */
const CHECKPOINT_COLUMNS = {
  txn: "STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)",
  add: "STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))",
  remove:
    "STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)",
  metaData:
    "STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)",
  protocol: "STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)",
};

/** `<root>/_delta_log/<20-digit version>.checkpoint.parquet`. */
export function checkpointPath(root: string, version: number): string {
  return join(root, "_delta_log", `${String(version).padStart(20, "0")}.checkpoint.parquet`);
}

/**
 * Writes a classic single-file Parquet checkpoint of the table as of `version`, then
 * `_last_checkpoint` ({version, size}).
 *
 * Contract: the snapshot is rebuilt with the reader (readDeltaSnapshot); its protocol, metaData,
 * txns and live adds (stats as the JSON string) become one row each, in the protocol's checkpoint
 * schema (remove column present, no tombstones written). Both files are written under hidden names in
 * `_delta_log` and renamed into place, so a reader sees a complete checkpoint or none, and a kill
 * leaves at worst a stale `_last_checkpoint` (a hint only: readers list the log). Writing the same
 * checkpoint twice (two writers) is harmless: both hold the same state.
 */
export async function writeDeltaCheckpoint(
  engine: Engine,
  root: string,
  version: number,
): Promise<{ version: number; size: number }> {
  const table = resolve(root);
  const snapshot = await readDeltaSnapshot(table, { version }, engine);
  const rows: object[] = [{ protocol: snapshot.protocol }];
  const m = snapshot.metadata;
  rows.push({
    metaData: {
      id: m.id,
      name: m.name ?? null,
      description: null,
      format: { provider: "parquet", options: {} },
      schemaString: m.schemaString,
      partitionColumns: m.partitionColumns,
      configuration: m.configuration,
      createdTime: m.createdTime ?? null,
    },
  });
  for (const [appId, txn] of Object.entries(snapshot.txns)) {
    rows.push({ txn: { appId, version: txn.version, lastUpdated: txn.lastUpdated ?? null } });
  }
  for (const f of snapshot.files) {
    rows.push({
      add: {
        path: f.relPath,
        partitionValues: f.partitionValues,
        size: f.size,
        modificationTime: f.modificationTime,
        dataChange: false,
        stats: f.stats ? JSON.stringify(f.stats) : null,
        tags: null,
      },
    });
  }
  const tag = randomBytes(6).toString("hex");
  const target = checkpointPath(table, version);
  const json = join(table, "_delta_log", `.checkpoint-${tag}.json.tmp`);
  const aside = join(table, "_delta_log", `.checkpoint-${tag}.parquet.tmp`);
  try {
    writeFileSync(json, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    const columns = Object.entries(CHECKPOINT_COLUMNS)
      .map(([name, type]) => `${name}: ${literal(type)}`)
      .join(", ");
    await engine.run(
      `COPY (SELECT txn, add, remove, metaData, protocol FROM read_json(${literal(json)}, format = 'newline_delimited', columns = {${columns}}))
       TO ${literal(aside)} (FORMAT parquet, COMPRESSION snappy)`,
      "delta checkpoint",
    );
    renameSync(aside, target);
  } finally {
    rmSync(json, { force: true });
    rmSync(aside, { force: true });
  }
  writeFileAtomic(join(table, "_delta_log", "_last_checkpoint"), JSON.stringify({ version, size: rows.length }));
  return { version, size: rows.length };
}
