import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { removeQuietly } from "../../util/atomic.js";

/** A private directory for intermediate files of one read, removed by `dispose`. */
export interface ScratchDir {
  readonly path: string;
  dispose(): void;
}

/**
 * Creates a scratch directory inside the engine's temp directory (the run's
 * `<data_dir>/.tmp/<run_id>`, removed with the run) or, when the engine has
 * none configured, the OS temp directory.
 */
export async function scratchDir(engine: Engine): Promise<ScratchDir> {
  const row = await engine.one<{ dir: string }>("SELECT current_setting('temp_directory') AS dir", "extract");
  const base = row?.dir && isAbsolute(row.dir) ? row.dir : tmpdir();
  mkdirSync(base, { recursive: true });
  const path = mkdtempSync(join(base, "file-source-"));
  return { path, dispose: () => removeQuietly(path) };
}
