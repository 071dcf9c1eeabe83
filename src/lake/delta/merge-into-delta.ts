import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { keySetSql } from "../../engine/key-set-sql.js";
import { ident } from "../../engine/sql.js";
import {
  type DeltaWriteOptions,
  type DeltaWriteResult,
  heldAt,
  holdsTxn,
  readIfTable,
  writeDeltaVersion,
} from "./append-to-delta.js";
import { deltaFilesForKeys } from "./delta-files-for-keys.js";
import { deltaScanSql } from "./delta-scan-sql.js";
import type { DeltaFile, DeltaSnapshot } from "./delta-snapshot.js";

export interface DeltaMergeOptions extends DeltaWriteOptions {
  /** The key columns: a row of the relation replaces the table's rows with the same key. */
  readonly key: readonly string[];
}

export interface DeltaMergeResult extends DeltaWriteResult {
  /** Rows of the rewritten files that were kept (their keys are not in the batch). */
  readonly rowsKept: number;
}

/**
 * Upserts a relation into the Delta table at `root` by `key`: every row of the relation replaces
 * the table's rows with its key (or is added when none has it); rows with a NULL key part are
 * added as they are. The relation must not hold a key twice (dedup's merge guarantees it).
 *
 * Contract: touches only the files that hold one of the batch's keys (`deltaFilesForKeys`: the
 * log's partition values and min/max stats prune, then the survivors' key columns are read). One
 * commit (operation MERGE) removes those files and adds their rows minus the batch's keys plus the
 * batch, with the txn of `options`: exactly once like an append (`held` when the table holds the
 * txn). A concurrent commit that removed a touched file or added rows is a conflict (a transient
 * SluiceError: the batch is planned again). Creates the table when there is none.
 */
export async function mergeIntoDelta(
  engine: Engine,
  root: string,
  relation: string,
  options: DeltaMergeOptions,
): Promise<DeltaMergeResult> {
  const table = resolve(root);
  const snapshot = await readIfTable(table, engine);
  if (holdsTxn(snapshot, options)) return { ...heldAt(snapshot!.version), rowsKept: 0 };
  const plan = { replaceSchema: false, operation: "MERGE", conflictOnAdds: true };
  const parameters = { predicate: options.key.map((k) => `target.${k} = source.${k}`).join(" AND ") };
  if (!snapshot) {
    const created = await writeDeltaVersion(engine, table, undefined, relation, options, {
      ...plan,
      removes: [],
      operationParameters: parameters,
    });
    return { ...created, rowsKept: 0 };
  }
  const suffix = randomBytes(4).toString("hex");
  const keys = `__sluice_merge_keys_${suffix}`;
  const merged = `__sluice_merged_${suffix}`;
  try {
    await engine.run(`CREATE TEMP TABLE ${keys} AS SELECT * FROM ${keySetSql(relation, options.key)}`, "delta merge");
    const touched = await deltaFilesForKeys(engine, snapshot, keys, options.key);
    const rowsKept = await mergedView(engine, merged, snapshot, touched, relation, keys, options.key);
    const result = await writeDeltaVersion(engine, table, snapshot, merged, options, {
      ...plan,
      removes: touched,
      operationParameters: { ...parameters, filesRewritten: touched.length },
    });
    return { ...result, rowsKept: result.status === "held" ? 0 : rowsKept };
  } finally {
    await engine.run(`DROP VIEW IF EXISTS ${merged}`, "delta merge");
    await engine.run(`DROP TABLE IF EXISTS ${merged}_kept`, "delta merge");
    await engine.run(`DROP TABLE IF EXISTS ${keys}`, "delta merge");
  }
}

/**
 * Creates view `name`: the touched files' rows whose key the batch does not hold (cast to the
 * batch's column types, in its column order), then the batch. Returns how many rows it keeps.
 */
async function mergedView(
  engine: Engine,
  name: string,
  snapshot: DeltaSnapshot,
  touched: readonly DeltaFile[],
  relation: string,
  keys: string,
  key: readonly string[],
): Promise<number> {
  if (touched.length === 0) {
    await engine.run(`CREATE TEMP VIEW ${name} AS SELECT * FROM ${relation}`, "delta merge");
    return 0;
  }
  const columns = await engine.columns(relation);
  const select = columns.map((c) => `CAST(t.${ident(c.name)} AS ${c.type}) AS ${ident(c.name)}`).join(", ");
  const on = key.map((k) => `t.${ident(k)} = b.${ident(k)}`).join(" AND ");
  const kept = `SELECT ${select} FROM ${deltaScanSql({ ...snapshot, files: touched })} AS t ANTI JOIN ${keys} AS b ON ${on}`;
  const keptName = `${name}_kept`;
  await engine.run(`CREATE TEMP TABLE ${keptName} AS ${kept}`, "delta merge");
  await engine.run(
    `CREATE TEMP VIEW ${name} AS SELECT * FROM ${keptName} UNION ALL SELECT * FROM ${relation}`,
    "delta merge",
  );
  return engine.count(keptName);
}
