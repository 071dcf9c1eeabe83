import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Engine } from "../../engine/engine.js";
import { SluiceError } from "../../errors.js";
import { checkDeltaProtocol } from "./check-delta-protocol.js";
import { type DeltaAction, parseCommitText } from "./delta-actions.js";
import { deltaError } from "./delta-error.js";
import type { DeltaFile, DeltaSnapshot } from "./delta-snapshot.js";
import { parseDeltaSchema } from "./delta-types.js";
import {
  availableVersions,
  type DeltaCheckpointFiles,
  type DeltaLogListing,
  describeVersions,
  listDeltaLog,
} from "./list-delta-log.js";
import { readCheckpoint } from "./read-checkpoint.js";
import { applyActions, type DeltaReplayState, emptyReplayState } from "./replay-delta-log.js";

/** Which version to read: the latest (default), a version number, or the version as of an instant. */
export interface DeltaReadOptions {
  /** Read exactly this version (time travel). */
  readonly version?: number;
  /** Read the latest version committed at or before this instant (commitInfo.timestamp, else file mtime). */
  readonly timestamp?: Date | string;
}

/**
 * Replays a Delta Lake table's log and returns its snapshot as of the wanted version.
 *
 * Contract: the newest complete checkpoint at or below the version (classic or multi-part, read with
 * DuckDB's read_parquet on `engine`, or on a scratch session when none is given) plus every JSON
 * commit after it; `_last_checkpoint` is never trusted over the listing, so an empty, torn or stale
 * one changes nothing. A checkpoint that cannot be read is skipped for an older one, or for JSON
 * from version 0 when those commits are all present. The protocol and column mapping are checked
 * before the snapshot is returned (no data file is opened here at all): a table needing more than
 * reader version 1 is refused. Errors are SluiceErrors of component "delta".
 */
export async function readDeltaSnapshot(
  root: string,
  options: DeltaReadOptions = {},
  engine?: Engine,
): Promise<DeltaSnapshot> {
  const table = resolve(root);
  const listing = await listDeltaLog(table);
  const available = availableVersions(listing);
  const listed = [...listing.commits.keys(), ...listing.checkpoints.map((c) => c.version)];
  if (listed.length === 0) {
    throw deltaError(
      `${table} is not a Delta Lake table: ${listing.logDir} holds no commit`,
      "point at the table's root folder; a table has _delta_log/00000000000000000000.json at least",
      "open",
    );
  }
  const latest = Math.max(...listed);
  const version = await targetVersion(table, listing, available, latest, options);
  if (!available.includes(version)) {
    throw deltaError(
      `version ${version} of the Delta table ${table} ${version > latest ? "does not exist" : "cannot be rebuilt (its commits were cleaned up or are missing)"}; available versions: ${describeVersions(available)}`,
      `read one of the available versions${options.version === undefined && options.timestamp === undefined ? " (the log has a gap: a commit file is missing)" : ""}`,
      "open",
    );
  }
  const { state, checkpointVersion, commitInfo } = await replay(table, listing, version, engine);
  const configuration = state.metaData?.configuration ?? {};
  checkDeltaProtocol(table, state.protocol, configuration);
  const meta = state.metaData;
  if (!meta) {
    throw deltaError(
      `the Delta table ${table} has no metaData action up to version ${version}`,
      "the log is damaged",
      "open",
    );
  }
  const files: DeltaFile[] = [];
  for (const [path, add] of state.adds) {
    files.push({
      path,
      relPath: add.path,
      partitionValues: { ...(add.partitionValues ?? {}) },
      size: Number(add.size),
      modificationTime: Number(add.modificationTime),
      ...(add.stats ? { stats: parseStats(add.stats) } : {}),
      dataChange: add.dataChange !== false,
    });
  }
  return {
    root: table,
    version,
    protocol: state.protocol!,
    metadata: {
      id: meta.id,
      ...(meta.name ? { name: meta.name } : {}),
      schemaString: meta.schemaString,
      schema: parseDeltaSchema(meta.schemaString, table),
      partitionColumns: [...(meta.partitionColumns ?? [])],
      configuration: { ...configuration },
      ...(typeof meta.createdTime === "number" ? { createdTime: meta.createdTime } : {}),
    },
    files,
    txns: Object.fromEntries(state.txns),
    ...(commitInfo ? { commitInfo } : {}),
    ...(checkpointVersion !== undefined ? { checkpointVersion } : {}),
  };
}

/** The version the options name; a timestamp resolves to the newest commit at or before it. */
async function targetVersion(
  table: string,
  listing: DeltaLogListing,
  available: readonly number[],
  latest: number,
  options: DeltaReadOptions,
): Promise<number> {
  if (options.version !== undefined) {
    if (!Number.isInteger(options.version) || options.version < 0) {
      throw deltaError(
        `version ${options.version} is not a Delta table version`,
        `give a whole number from the available versions: ${describeVersions(available)}`,
        "open",
      );
    }
    return options.version;
  }
  if (options.timestamp === undefined) return latest;
  const at = options.timestamp instanceof Date ? options.timestamp : new Date(options.timestamp);
  if (Number.isNaN(at.getTime())) {
    throw deltaError(
      `"${String(options.timestamp)}" is not a timestamp`,
      "give an ISO timestamp, e.g. 2024-01-31T12:00:00Z",
      "open",
    );
  }
  let earliest: { version: number; ms: number } | undefined;
  for (const v of [...available].reverse()) {
    const ms = await commitTimestamp(listing, v);
    if (ms <= at.getTime()) return v;
    earliest = { version: v, ms };
  }
  throw deltaError(
    `the Delta table ${table} has no version committed at or before ${at.toISOString()}: its earliest available version ${earliest?.version} was committed at ${earliest ? new Date(earliest.ms).toISOString() : "?"}`,
    `give a later timestamp, or a version (available: ${describeVersions(available)})`,
    "open",
  );
}

/** A version's commit time: its commitInfo.timestamp, else the commit (or checkpoint) file's mtime. */
async function commitTimestamp(listing: DeltaLogListing, version: number): Promise<number> {
  const commit = listing.commits.get(version);
  if (commit) {
    const info = (await readCommit(commit)).find((a) => a.commitInfo)?.commitInfo;
    if (typeof info?.timestamp === "number") return info.timestamp;
    return (await stat(commit)).mtimeMs;
  }
  const checkpoint = listing.checkpoints.find((c) => c.version === version);
  return checkpoint ? (await stat(checkpoint.paths[0]!)).mtimeMs : Number.POSITIVE_INFINITY;
}

/** Replays the log up to `version` from the best readable checkpoint. */
async function replay(
  table: string,
  listing: DeltaLogListing,
  version: number,
  engine: Engine | undefined,
): Promise<{ state: DeltaReplayState; checkpointVersion?: number; commitInfo?: Record<string, unknown> }> {
  const candidates = listing.checkpoints.filter(
    (c) => c.version <= version && commitsFrom(listing, c.version + 1, version),
  );
  let state: DeltaReplayState | undefined;
  let checkpointVersion: number | undefined;
  let failure: unknown;
  let scratch: Engine | undefined;
  try {
    for (const checkpoint of candidates) {
      try {
        scratch ??= engine ? undefined : await Engine.open({ threads: 1 });
        state = await fromCheckpoint(table, checkpoint, (engine ?? scratch)!);
        checkpointVersion = checkpoint.version;
        break;
      } catch (err) {
        failure = err; // an unreadable checkpoint: try an older one, or JSON from 0
      }
    }
  } finally {
    scratch?.close();
  }
  if (!state) {
    if (!commitsFrom(listing, 0, version)) {
      throw deltaError(
        `the Delta table ${table} cannot be rebuilt at version ${version}: its checkpoint cannot be read and older commits are gone`,
        `check ${listing.logDir}: ${failure instanceof Error ? failure.message : "no readable checkpoint"}`,
        "open",
        failure,
      );
    }
    state = emptyReplayState();
  }
  const start = checkpointVersion === undefined ? 0 : checkpointVersion + 1;
  let commitInfo: Record<string, unknown> | undefined;
  for (let v = start; v <= version; v++) {
    const actions = await readCommit(listing.commits.get(v)!);
    applyActions(state, table, actions);
    if (v === version) commitInfo = actions.find((a) => a.commitInfo)?.commitInfo ?? undefined;
  }
  if (start > version && listing.commits.has(version)) {
    commitInfo = (await readCommit(listing.commits.get(version)!)).find((a) => a.commitInfo)?.commitInfo ?? undefined;
  }
  return {
    state,
    ...(checkpointVersion !== undefined ? { checkpointVersion } : {}),
    ...(commitInfo ? { commitInfo } : {}),
  };
}

async function fromCheckpoint(
  table: string,
  checkpoint: DeltaCheckpointFiles,
  engine: Engine,
): Promise<DeltaReplayState> {
  const state = emptyReplayState();
  applyActions(state, table, await readCheckpoint(engine, checkpoint.paths));
  return state;
}

/** Whether every JSON commit from..to (inclusive) is listed. */
function commitsFrom(listing: DeltaLogListing, from: number, to: number): boolean {
  for (let v = from; v <= to; v++) if (!listing.commits.has(v)) return false;
  return true;
}

async function readCommit(path: string): Promise<DeltaAction[]> {
  try {
    return parseCommitText(await readFile(path, "utf8"));
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw deltaError(
      `cannot read the Delta commit ${path}: ${(err as Error).message}`,
      "the log is damaged",
      "open",
      err,
    );
  }
}

function parseStats(stats: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(stats) as Record<string, unknown>;
  } catch {
    return undefined; // stats are optional; damaged ones only cost data skipping
  }
}
