import type { DeltaAction, DeltaAddAction, DeltaMetadataAction, DeltaProtocol } from "./delta-actions.js";
import { resolveDataPath } from "./resolve-data-path.js";

/** The state a replay accumulates: the newest protocol and metaData, live adds by path, txns. */
export interface DeltaReplayState {
  protocol: DeltaProtocol | undefined;
  metaData: DeltaMetadataAction | undefined;
  /** Decoded absolute path -> the add that made it live. */
  readonly adds: Map<string, DeltaAddAction>;
  readonly txns: Map<string, { version: number; lastUpdated?: number }>;
}

export function emptyReplayState(): DeltaReplayState {
  return { protocol: undefined, metaData: undefined, adds: new Map(), txns: new Map() };
}

/**
 * Applies one commit's (or a checkpoint's) actions in order. Contract (PROTOCOL.md reconciliation):
 * the newest action per path wins — an add makes the path live (a re-add after a remove, as RESTORE
 * writes, makes it live again), a remove takes it out; a later protocol or metaData replaces the
 * earlier one (schema and partition columns included); the newest txn per appId wins. Paths are
 * compared decoded, so two spellings of one file are one file. commitInfo, cdc and domainMetadata
 * do not change the snapshot.
 */
export function applyActions(state: DeltaReplayState, root: string, actions: readonly DeltaAction[]): void {
  for (const action of actions) {
    if (action.add) {
      state.adds.set(resolveDataPath(root, action.add.path), action.add);
    } else if (action.remove) {
      state.adds.delete(resolveDataPath(root, action.remove.path));
    } else if (action.metaData) {
      state.metaData = action.metaData;
    } else if (action.protocol) {
      state.protocol = action.protocol;
    } else if (action.txn) {
      const { appId, version, lastUpdated } = action.txn;
      state.txns.set(appId, typeof lastUpdated === "number" ? { version, lastUpdated } : { version });
    }
  }
}
