import { createHash } from "node:crypto";
import { relative } from "node:path";
import { SluiceError } from "../../errors.js";
import type { SourceContext } from "../source.js";
import type { InputFile, ResolvedFiles } from "./resolve-files.js";

/**
 * What `files: new` remembers of a consumed file: its size and modification time. A `stat` tells
 * both without opening the file, so a run costs nothing for the files it skips, however many have
 * landed over the months (a content hash would read every file on every run). The one case it
 * misses, a file rewritten in place with the same size inside one mtime tick, does not happen to
 * files landed by copy, rename or upload.
 */
export interface FileMark {
  readonly size: number;
  readonly mtime_ms: number;
}

/** The pipeline state's key: consumed file (path relative to the config dir) -> its mark. */
export const CONSUMED_KEY = "files";
export type ConsumedFiles = Readonly<Record<string, FileMark>>;

/** What one `files: new` run reads, and the batch it makes. */
export interface FileSelection {
  readonly files: readonly InputFile[];
  /** `replace` for a first run or `--full` (every file: the whole dataset), else `append`. */
  readonly extent: "replace" | "append";
  /** The consumed files once this batch is committed: the state's before, plus the batch's. */
  readonly nextState?: Record<string, unknown>;
  /** Named by the files it holds (an append batch), so a batch read again has the same id. */
  readonly batchId?: string;
  readonly description: string;
}

/**
 * Picks the files of a `files: new` run from the matching ones (SPEC section 5, file; S2).
 *
 * - `--full`, or no consumed files in the state (a first run): every file, `replace`, and the
 *   state records them all.
 * - Otherwise the files whose path is not in the state or whose size or mtime differ from what it
 *   recorded (a changed file is read again in full, with a warning: its earlier rows stay in the
 *   sinks unless a merge dedup replaces them), `append`, with the batch id a hash of their marks.
 * - Finishing an interrupted batch (`ctx.until`: the consumed files that batch ends at): exactly
 *   the files it listed, which must still be as they were then; otherwise a clear error (the batch
 *   cannot be read again; `--full` rebuilds the dataset from the files as they are).
 * - No new file: an empty batch, logged as "no new files"; the state stays.
 */
export function selectFiles(ctx: SourceContext, resolved: ResolvedFiles): FileSelection {
  const consumed = consumedFiles(ctx.state);
  const current = new Map(resolved.files.map((f) => [keyOf(ctx.configDir, f), f]));
  const all = (why: string): FileSelection => ({
    files: resolved.files,
    extent: "replace",
    nextState: { [CONSUMED_KEY]: marksOf(ctx.configDir, resolved.files) },
    description: `${count(resolved.files.length, "file")} matching ${resolved.patterns.join(", ")} (${why})`,
  });
  if (ctx.options.full) return all("--full: every file");
  if (!consumed) return all("first run: every file");

  const until = ctx.until ? consumedFiles(ctx.until) : undefined;
  let files: InputFile[];
  if (until) {
    files = [];
    for (const [key, mark] of Object.entries(until)) {
      if (sameMark(consumed[key], mark)) continue;
      const file = current.get(key);
      if (!file || !sameMark(markOf(file), mark)) {
        throw new SluiceError(
          `the interrupted batch read \`${key}\` (${mark.size} bytes), which is ${file ? "changed" : "gone"} now: the batch cannot be read again as it was`,
          {
            component: "source.file",
            stage: "extract",
            hint: "put the file back as it was, or run `sluice run --full` to read every file as it is and replace the dataset",
          },
        );
      }
      files.push(file);
    }
  } else {
    files = resolved.files.filter((f) => !sameMark(consumed[keyOf(ctx.configDir, f)], markOf(f)));
  }
  const changed = files.map((f) => keyOf(ctx.configDir, f)).filter((key) => consumed[key] !== undefined);
  for (const key of changed) {
    ctx.log.warn(
      `file source: \`${key}\` changed since it was read (size or mtime); reading it again in full: ` +
        "rows of its earlier version stay in the sinks unless a merge dedup on the key replaces them (`--full` rebuilds from the files as they are)",
    );
  }
  const where = resolved.patterns.join(", ");
  if (files.length === 0) {
    ctx.log.info(
      `file source: no new files matching ${where} (${count(Object.keys(consumed).length, "file")} read before): nothing to read`,
    );
    return { files, extent: "append", description: `no new files matching ${where}` };
  }
  const marks = marksOf(ctx.configDir, files);
  const names = Object.keys(marks);
  const shown = names.slice(0, 3).join(", ") + (names.length > 3 ? `, and ${names.length - 3} more` : "");
  return {
    files,
    extent: "append",
    nextState: { [CONSUMED_KEY]: { ...consumed, ...marks } },
    batchId: batchIdOf(marks),
    description: `${count(files.length, "new file")} matching ${where}: ${shown}`,
  };
}

/** The consumed files a state (or an interrupted batch's end state) records, if any. */
function consumedFiles(state: Readonly<Record<string, unknown>>): ConsumedFiles | undefined {
  const files = state[CONSUMED_KEY];
  if (!files || typeof files !== "object" || Array.isArray(files)) return undefined;
  return files as ConsumedFiles;
}

/**
 * `files-<hash>` of the batch's files (path, size, mtime; sorted by path): the same files give the
 * same id on a retry, and a file changed since gives a new one (a sink holding the old batch would
 * otherwise skip the new content as already held).
 */
function batchIdOf(marks: ConsumedFiles): string {
  const hash = createHash("sha256");
  for (const key of Object.keys(marks).sort()) {
    const m = marks[key]!;
    hash.update(`${key}\u0000${m.size}\u0000${m.mtime_ms}\n`);
  }
  return `files-${hash.digest("hex").slice(0, 16)}`;
}

function marksOf(configDir: string, files: readonly InputFile[]): Record<string, FileMark> {
  return Object.fromEntries(files.map((f) => [keyOf(configDir, f), markOf(f)]));
}

/** The state's name of a file: its path relative to the config dir (stable while the config stays). */
function keyOf(configDir: string, file: InputFile): string {
  return relative(configDir, file.path);
}

function markOf(file: InputFile): FileMark {
  return { size: file.bytes, mtime_ms: file.mtimeMs ?? 0 };
}

function sameMark(a: FileMark | undefined, b: FileMark): boolean {
  return a !== undefined && a.size === b.size && a.mtime_ms === b.mtime_ms;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
