import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { deltaError } from "./delta-error.js";

/** A complete checkpoint of one version: a classic single file, or every part of a multi-part one. */
export interface DeltaCheckpointFiles {
  readonly version: number;
  /** Absolute paths, in part order. */
  readonly paths: readonly string[];
}

/** What `_delta_log` holds, from one directory listing. */
export interface DeltaLogListing {
  readonly logDir: string;
  /** version -> absolute path of `<20-digit version>.json`. */
  readonly commits: ReadonlyMap<number, string>;
  /** Complete checkpoints, newest first (incomplete multi-part sets are left out). */
  readonly checkpoints: readonly DeltaCheckpointFiles[];
  /** Parsed `_last_checkpoint`, or undefined when absent, empty or torn (a hint only). */
  readonly lastCheckpoint: { version: number; parts?: number } | undefined;
}

const COMMIT = /^(\d{20})\.json$/;
const CLASSIC = /^(\d{20})\.checkpoint\.parquet$/;
const MULTI = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;

/**
 * Lists `<root>/_delta_log`. Contract: hidden files (`.*.crc`, temp files) and names the protocol
 * does not define for reader v1 (v2/UUID checkpoints, compacted logs, `_commits/`) are ignored; a
 * multi-part checkpoint counts only when all its parts of one part count are present. The listing is
 * the source of truth: `_last_checkpoint` is read as a hint and may be empty, torn or stale.
 */
export async function listDeltaLog(root: string): Promise<DeltaLogListing> {
  const logDir = join(root, "_delta_log");
  let names: string[];
  try {
    names = await readdir(logDir);
  } catch (err) {
    throw deltaError(
      `${root} is not a Delta Lake table: ${logDir} cannot be listed (${(err as NodeJS.ErrnoException).code ?? err})`,
      "point at the table's root folder, the one holding _delta_log/",
      "open",
      err,
    );
  }
  const commits = new Map<number, string>();
  const classic = new Map<number, string>();
  // version -> part count -> part number -> path
  const multi = new Map<number, Map<number, Map<number, string>>>();
  for (const name of names) {
    if (name.startsWith(".")) continue;
    let m = COMMIT.exec(name);
    if (m) {
      commits.set(Number(m[1]), join(logDir, name));
      continue;
    }
    m = CLASSIC.exec(name);
    if (m) {
      classic.set(Number(m[1]), join(logDir, name));
      continue;
    }
    m = MULTI.exec(name);
    if (m) {
      const version = Number(m[1]);
      const part = Number(m[2]);
      const count = Number(m[3]);
      const byCount = multi.get(version) ?? new Map<number, Map<number, string>>();
      const parts = byCount.get(count) ?? new Map<number, string>();
      parts.set(part, join(logDir, name));
      byCount.set(count, parts);
      multi.set(version, byCount);
    }
  }
  const checkpoints: DeltaCheckpointFiles[] = [];
  for (const [version, path] of classic) checkpoints.push({ version, paths: [path] });
  for (const [version, byCount] of multi) {
    for (const [count, parts] of byCount) {
      const paths: string[] = [];
      for (let i = 1; i <= count; i++) {
        const p = parts.get(i);
        if (p !== undefined) paths.push(p);
      }
      if (paths.length === count && count > 0) checkpoints.push({ version, paths });
    }
  }
  checkpoints.sort((a, b) => b.version - a.version);
  return { logDir, commits, checkpoints, lastCheckpoint: await readLastCheckpoint(logDir) };
}

/** `_last_checkpoint` parsed, or undefined when missing, empty or not valid JSON (what a kill leaves). */
async function readLastCheckpoint(logDir: string): Promise<{ version: number; parts?: number } | undefined> {
  try {
    const text = await readFile(join(logDir, "_last_checkpoint"), "utf8");
    const parsed = JSON.parse(text) as { version?: unknown; parts?: unknown };
    if (typeof parsed.version !== "number") return undefined;
    return typeof parsed.parts === "number"
      ? { version: parsed.version, parts: parsed.parts }
      : { version: parsed.version };
  } catch {
    return undefined;
  }
}

/** Every version whose snapshot can be rebuilt from what is listed, ascending. */
export function availableVersions(listing: DeltaLogListing): number[] {
  const starts = new Set(listing.checkpoints.map((c) => c.version));
  const all = [...new Set([...listing.commits.keys(), ...starts])].sort((a, b) => a - b);
  const out: number[] = [];
  let prev = -1;
  let chain = false;
  for (const v of all) {
    chain = starts.has(v) || (listing.commits.has(v) && (v === 0 || (chain && prev === v - 1)));
    if (chain) out.push(v);
    prev = v;
  }
  return out;
}

/** "0..13" or "3, 5..9": the available versions as ranges, for error messages. */
export function describeVersions(versions: readonly number[]): string {
  if (versions.length === 0) return "none";
  const parts: string[] = [];
  let start = versions[0]!;
  let last = start;
  for (const v of [...versions.slice(1), Number.NaN]) {
    if (v === last + 1) {
      last = v;
      continue;
    }
    parts.push(start === last ? `${start}` : `${start}..${last}`);
    start = v;
    last = v;
  }
  return parts.join(", ");
}
