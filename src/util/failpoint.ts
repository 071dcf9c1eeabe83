import { SluiceError } from "../errors.js";

/**
 * Named places in a run where the crash and failure tests stop it for real (the way TiKV and
 * FoundationDB test their commits): `SLUICE_FAILPOINTS="after:stage=kill,sink:1=fail"` makes the
 * process SIGKILL itself after the stage step, and the second sink's commit throw. Actions:
 * `kill` (SIGKILL, nothing runs after it), `fail` (a terminal SluiceError), `transient` (a
 * SluiceError the retry loop retries, every attempt). Unset, a failpoint costs one lookup.
 */
export function failpoint(name: string): void {
  const spec = process.env.SLUICE_FAILPOINTS;
  if (!spec) return;
  for (const entry of spec.split(",")) {
    const [point, action] = entry.trim().split("=");
    if (point !== name) continue;
    if (action === "kill") process.kill(process.pid, "SIGKILL");
    if (action === "fail" || action === "transient") {
      throw new SluiceError(`failpoint ${name}: injected failure`, {
        component: "failpoint",
        stage: name,
        transient: action === "transient",
      });
    }
  }
}
