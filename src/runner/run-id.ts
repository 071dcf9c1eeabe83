import { randomBytes } from "node:crypto";

/** Run ids sort by start time: `20260301T020000Z_3fa9c1`. */
export function newRunId(at: Date = new Date()): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}_${randomBytes(3).toString("hex")}`;
}
