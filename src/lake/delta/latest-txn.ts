import type { DeltaSnapshot } from "./delta-snapshot.js";

/**
 * The appId of the latest txn whose appId starts with `prefix` (by lastUpdated, which sluice's
 * writer keeps increasing per table), or undefined when the table holds none: the last batch an
 * idempotent writer committed.
 */
export function latestTxn(snapshot: DeltaSnapshot, prefix: string): string | undefined {
  let best: { appId: string; at: number } | undefined;
  for (const [appId, txn] of Object.entries(snapshot.txns)) {
    if (!appId.startsWith(prefix)) continue;
    const at = txn.lastUpdated ?? 0;
    if (!best || at > best.at) best = { appId, at };
  }
  return best?.appId;
}
