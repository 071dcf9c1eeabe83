import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * A path beside `target` to write to first: same directory (so rename is
 * atomic), hidden and marked in-progress so readers and globs skip it
 * (`.x.parquet.tmp-1a2b`). Leftovers from a crash are removed by `sweepTemp`
 * (util/sweep-temp.ts).
 */
export function asidePath(target: string): string {
  mkdirSync(dirname(target), { recursive: true });
  return join(dirname(target), `.${basename(target)}.tmp-${randomBytes(4).toString("hex")}`);
}

/** Makes a file written at `aside` visible as `target` in one rename. */
export function publish(aside: string, target: string): void {
  renameSync(aside, target);
}

/** Writes a small text file atomically. */
export function writeFileAtomic(target: string, content: string): void {
  const aside = asidePath(target);
  try {
    writeFileSync(aside, content);
    publish(aside, target);
  } catch (err) {
    removeQuietly(aside);
    throw err;
  }
}

/** Removes a path, ignoring absence. */
export function removeQuietly(path: string): void {
  rmSync(path, { recursive: true, force: true });
}
