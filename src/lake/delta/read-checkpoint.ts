import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import type { DeltaAction } from "./delta-actions.js";

/**
 * Reads the actions of one checkpoint (all its parts) with DuckDB's read_parquet: each row becomes
 * the JSON of its action structs (maps become objects), so a checkpoint row and a commit line are
 * the same DeltaAction. Contract: only the live state is returned — protocol, metaData, add and txn
 * rows; the checkpoint's remove rows are tombstones of files already gone and are dropped.
 */
export async function readCheckpoint(engine: Engine, paths: readonly string[]): Promise<DeltaAction[]> {
  const list = `[${paths.map(literal).join(", ")}]`;
  const rows = await engine.all<{ j: string }>(
    `SELECT to_json(t) AS j FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false) t`,
    "delta checkpoint",
  );
  const actions: DeltaAction[] = [];
  for (const { j } of rows) {
    const row = JSON.parse(j) as DeltaAction;
    if (row.add) actions.push({ add: row.add });
    else if (row.metaData) actions.push({ metaData: row.metaData });
    else if (row.protocol) actions.push({ protocol: row.protocol });
    else if (row.txn) actions.push({ txn: row.txn });
  }
  return actions;
}
