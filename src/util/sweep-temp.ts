import { readdirSync } from "node:fs";
import { join } from "node:path";
import { removeQuietly } from "./atomic.js";

/**
 * Removes what crashed writers left in `dir`: files and folders named like
 * `asidePath()` names (`.x.parquet.tmp-1a2b`). With `target`, only the ones
 * set aside for that name (`.<target>.tmp-*`), so a folder shared by several
 * datasets keeps the others' work in progress. Not recursive. Returns the
 * names removed.
 *
 * Called by a sink at the start of a write to a target it owns. Only one run
 * of a pipeline writes a target at a time (the runner's lock), so anything
 * set aside for it at that moment belongs to a run that died.
 */
export function sweepTemp(dir: string, target?: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const swept = names.filter((name) => isAside(name, target));
  for (const name of swept) removeQuietly(join(dir, name));
  return swept;
}

function isAside(name: string, target: string | undefined): boolean {
  if (!/^\..+\.tmp-[0-9a-f]+$/.test(name)) return false;
  return target === undefined || name.startsWith(`.${target}.tmp-`);
}
