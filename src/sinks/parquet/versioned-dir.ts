import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, symlinkSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { SluiceError } from "../../errors.js";
import { asidePath, publish, removeQuietly } from "../../util/atomic.js";
import { sweepTemp } from "../../util/sweep-temp.js";

/**
 * A dataset folder whose whole content is replaced in one step.
 *
 * `root` (e.g. `<data_dir>/lake/events`) is a symbolic link to a hidden
 * version folder beside it (`lake/.events.v-<label>`). A new version is built
 * in an aside folder (`lake/.events.tmp-1a2b`), renamed to its version name
 * and published by renaming a new link over `root`: readers that resolve
 * `root` see the old tree or the new one, never a mix, whenever a crash
 * happens. `repair()` removes what a crash left (aside folders, versions no
 * link points at). DuckDB's `**` glob does not follow links, so a glob over
 * the parent (`lake/**`) still sees each file once.
 *
 * A `root` that is a plain folder was not written by sluice (a hand-made
 * folder, another tool's output): `assertOwned` refuses to write there, since
 * publishing a version would replace, and so delete, what is in it.
 */
export class VersionedDir {
  readonly parent: string;
  readonly name: string;

  constructor(readonly root: string) {
    this.parent = dirname(root);
    this.name = basename(root);
  }

  /** The real folder `root` shows now, or undefined when nothing was published yet. */
  current(): string | undefined {
    const kind = this.kind();
    if (kind === "link") return resolve(this.parent, readlinkSync(this.root));
    return kind === "dir" ? this.root : undefined;
  }

  /**
   * Brings the folder back to a published state after a crash and removes
   * leftovers: aside folders, and versions the link does not point at (an old
   * one not yet removed, or a new one whose link was never published). If a
   * crash came between moving a plain `root` aside and linking the new
   * version, the plain folder is put back (the old state).
   */
  repair(): void {
    sweepTemp(this.parent, this.name);
    const kind = this.kind();
    const versions = this.versions();
    if (kind === "none") {
      const legacy = versions.find((v) => v.startsWith(this.versionPrefix(LEGACY)));
      if (legacy) renameSync(join(this.parent, legacy), this.root);
    }
    const keep = this.kind() === "link" ? basename(readlinkSync(this.root)) : undefined;
    for (const v of versions) if (v !== keep && existsIn(this.parent, v)) removeQuietly(join(this.parent, v));
  }

  /**
   * Throws unless `root` is absent or a link to a version sluice published: a plain folder holds
   * files sluice did not write, and sluice never deletes those.
   */
  assertOwned(): void {
    if (this.kind() !== "dir") return;
    const entries = readdirSync(this.root);
    const shown = entries.slice(0, 3).join(", ") + (entries.length > 3 ? ", ..." : "");
    throw new SluiceError(
      `${this.root} is a folder sluice did not write (${entries.length ? `it holds ${shown}` : "empty"}); writing the partitioned dataset there would replace it`,
      {
        component: "parquet",
        stage: "write",
        hint: "sluice never deletes what it did not write: move that folder away (or remove it yourself), or point the sink's `path` at another folder",
      },
    );
  }

  /** A new empty aside folder to build the next version in; removed by `repair` if the run dies. */
  stage(): string {
    const staged = asidePath(this.root);
    mkdirSync(staged);
    return staged;
  }

  /**
   * Publishes a staged folder as the dataset: renames it to a version name,
   * links `root` to it in one rename, then removes the version it replaced.
   * `label` goes into the version name (a run id) so versions sort by time.
   */
  commit(staged: string, label: string): void {
    const version = `${this.versionPrefix(label)}-${randomBytes(3).toString("hex")}`;
    renameSync(staged, join(this.parent, version));
    const link = asidePath(this.root);
    symlinkSync(version, link);
    this.assertOwned();
    const previous = this.kind() === "link" ? join(this.parent, readlinkSync(this.root)) : undefined;
    publish(link, this.root);
    if (previous) removeQuietly(previous);
  }

  private kind(): "link" | "dir" | "none" {
    try {
      const st = lstatSync(this.root);
      return st.isSymbolicLink() ? "link" : st.isDirectory() ? "dir" : "none";
    } catch {
      return "none";
    }
  }

  private versionPrefix(label: string): string {
    return `.${this.name}.v-${label}`;
  }

  private versions(): string[] {
    const prefix = `.${this.name}.v-`;
    try {
      return readdirSync(this.parent)
        .filter((n) => n.startsWith(prefix))
        .sort();
    } catch {
      return [];
    }
  }
}

/** Version label under which sluice 0.1 moved a plain folder aside; `repair` puts such a folder back. */
const LEGACY = "0-legacy";

function existsIn(dir: string, name: string): boolean {
  try {
    lstatSync(join(dir, name));
    return true;
  } catch {
    return false;
  }
}
