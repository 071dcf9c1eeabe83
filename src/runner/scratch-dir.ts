import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeQuietly } from "../util/atomic.js";

/**
 * Creates `<data_dir>/.tmp/<run_id>/` for a run attempt (DuckDB spill files, COPY staging) and
 * removes the folders of runs that died without cleaning up (SIGKILL, power loss): each folder
 * holds the PID of its process, and a folder whose process is gone is swept. The caller removes
 * its own folder when the attempt ends.
 */
export function scratchDir(dataDir: string, runId: string): string {
  const root = join(dataDir, ".tmp");
  mkdirSync(root, { recursive: true });
  for (const name of readdirSync(root)) {
    const pidFile = join(root, name, ".pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : Number.NaN;
    if (!alive(pid)) removeQuietly(join(root, name));
  }
  const dir = join(root, runId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ".pid"), String(process.pid));
  return dir;
}

/** Whether run `runId` is going on now: its scratch folder names a live process. */
export function isLiveRun(dataDir: string, runId: string): boolean {
  const pidFile = join(dataDir, ".tmp", runId, ".pid");
  return existsSync(pidFile) && alive(Number(readFileSync(pidFile, "utf8")));
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
