import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SluiceError } from "../../errors.js";
import { type DeltaAction, parseCommitText } from "./delta-actions.js";
import { resolveDataPath } from "./resolve-data-path.js";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

/** `sluice/<package version>`: the engineInfo of every commit sluice writes. */
export const ENGINE_INFO = `sluice/${pkg.version}`;

/** What a commit is for: becomes its commitInfo. */
export interface DeltaCommitOptions {
  /** The version the actions were planned against; -1 when the commit creates the table. */
  readonly readVersion: number;
  /** commitInfo.operation: "WRITE", "CREATE TABLE", ... */
  readonly operation: string;
  readonly operationParameters?: Readonly<Record<string, unknown>>;
  /** The sluice run that wrote the commit (commitInfo.sluiceRunId). */
  readonly runId?: string;
  /** How many versions to try before giving up (default 1,000). */
  readonly maxAttempts?: number;
  /**
   * A winner that added data files conflicts (a merge: its rows may hold keys this commit was
   * planned without). Default false: appends and replaces commute with concurrent appends.
   */
  readonly conflictOnAdds?: boolean;
}

/** `committed` at `version`, or `held`: a concurrent winner committed the same txn (appId, version). */
export type DeltaCommitResult =
  | { readonly status: "committed"; readonly version: number; readonly attempts: number }
  | { readonly status: "held"; readonly version: number };

/** `<root>/_delta_log/<20-digit version>.json`. */
export function commitPath(root: string, version: number): string {
  return join(root, "_delta_log", `${String(version).padStart(20, "0")}.json`);
}

/**
 * Commits `actions` as the next version of the table, put-if-absent.
 *
 * Contract: the newline-delimited actions (plus a commitInfo: timestamp, operation,
 * operationParameters, readVersion, engineInfo, sluiceRunId) are written to a hidden file beside
 * the target and hard-linked to `<readVersion + 1>.json`; `link` fails with EEXIST when another
 * writer took that version, so a commit file is never overwritten and never seen half written. On
 * EEXIST the winner's commit is read and checked against ours (`checkConflict`): a winner holding
 * the same txn appId at our txn version or later makes this commit `held` (nothing written); a
 * winner that removed a file we remove, changed the protocol or metaData, or created the table with
 * another schema is a conflict (a SluiceError, stage "commit"); otherwise we retry at the next
 * version. Appends never conflict; a merge (`conflictOnAdds`) conflicts with a winner that added rows. A table created by two writers at once keeps the winner's
 * protocol and metaData when both carry the same schema and partition columns.
 */
export async function commitDelta(
  root: string,
  actions: readonly DeltaAction[],
  options: DeltaCommitOptions,
): Promise<DeltaCommitResult> {
  const table = resolve(root);
  const logDir = join(table, "_delta_log");
  mkdirSync(logDir, { recursive: true });
  let ours = [...actions];
  const maxAttempts = options.maxAttempts ?? 1000;
  for (let attempt = 1, version = options.readVersion + 1; attempt <= maxAttempts; attempt++, version++) {
    const target = commitPath(table, version);
    const aside = join(logDir, `.${String(version).padStart(20, "0")}.json.tmp-${randomBytes(6).toString("hex")}`);
    const info = {
      commitInfo: {
        timestamp: Date.now(),
        operation: options.operation,
        operationParameters: options.operationParameters ?? {},
        readVersion: options.readVersion,
        isBlindAppend: !ours.some((a) => a.remove),
        engineInfo: ENGINE_INFO,
        ...(options.runId ? { sluiceRunId: options.runId } : {}),
      },
    };
    const text = `${[info, ...ours].map((a) => JSON.stringify(a)).join("\n")}\n`;
    try {
      writeFileSync(aside, text);
      linkSync(aside, target);
      return { status: "committed", version, attempts: attempt };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    } finally {
      rmSync(aside, { force: true });
    }
    const winner = parseCommitText(readFileSync(target, "utf8"));
    const outcome = checkConflict(table, ours, winner, version, options.conflictOnAdds === true);
    if (outcome === "held") return { status: "held", version };
    ours = [...outcome];
  }
  throw new SluiceError(`gave up committing to the Delta table ${table} after ${maxAttempts} attempts`, {
    component: "delta",
    stage: "commit",
    hint: "too many concurrent writers; retry the run",
    transient: true,
  });
}

/**
 * Checks our planned actions against a commit that won the version we wanted. Returns the actions
 * to retry with at the next version, `held` when the winner committed our txn, or throws a conflict.
 */
export function checkConflict(
  table: string,
  ours: readonly DeltaAction[],
  winner: readonly DeltaAction[],
  version: number,
  conflictOnAdds = false,
): readonly DeltaAction[] | "held" {
  for (const txn of ours.flatMap((a) => (a.txn ? [a.txn] : []))) {
    const theirs = winner.find((a) => a.txn?.appId === txn.appId)?.txn;
    if (theirs && theirs.version >= txn.version) return "held";
  }
  const removed = new Set(winner.flatMap((a) => (a.remove ? [resolveDataPath(table, a.remove.path)] : [])));
  const lost = ours.find((a) => a.remove && removed.has(resolveDataPath(table, a.remove.path)));
  if (lost) throw conflict(table, version, `it already removed ${lost.remove!.path}, which this commit removes too`);
  if (conflictOnAdds && winner.some((a) => a.add?.dataChange)) {
    throw conflict(table, version, "it added rows this merge did not compare against");
  }
  const theirMeta = winner.find((a) => a.metaData)?.metaData;
  const ourMeta = ours.find((a) => a.metaData)?.metaData;
  if (winner.some((a) => a.protocol) && !ourMeta) throw conflict(table, version, "it changed the protocol");
  if (theirMeta && !ourMeta) throw conflict(table, version, "it changed the table's metaData (schema)");
  if (ourMeta && !theirMeta) throw conflict(table, version, "this commit changes the metaData it was planned against");
  if (ourMeta && theirMeta) {
    const same =
      ourMeta.schemaString === theirMeta.schemaString &&
      JSON.stringify(ourMeta.partitionColumns) === JSON.stringify(theirMeta.partitionColumns);
    if (!same) throw conflict(table, version, "it created the table with another schema or partition columns");
    return ours.filter((a) => !a.metaData && !a.protocol);
  }
  return ours;
}

function conflict(table: string, version: number, why: string): SluiceError {
  return new SluiceError(`concurrent commit to the Delta table ${table}: version ${version} won and ${why}`, {
    component: "delta",
    stage: "commit",
    hint: "run the batch again: it is planned against the new version",
    transient: true,
  });
}
