import { open } from "node:fs/promises";
import { LayoutBuilder, type RecordLayout } from "./record-layout.js";

const CHUNK = 4 << 20;
const NL = 10;

/**
 * Finds which lines of a JSONL file hold records: every line that is not
 * blank (empty or only spaces, tabs and carriage returns, which DuckDB's
 * newline-delimited reader skips too).
 *
 * One pass over the bytes with Buffer.indexOf (memchr): a few hundred ms
 * per GB, no parsing, constant memory. The record count it returns is
 * checked against what DuckDB read; positions are only trusted when both agree.
 */
export async function scanJsonlLines(path: string): Promise<RecordLayout> {
  const layout = new LayoutBuilder();
  const fh = await open(path, "r");
  const buf = Buffer.allocUnsafe(CHUNK);
  let line = 1;
  let content = false;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const view = buf.subarray(0, bytesRead);
      let i = 0;
      while (i < bytesRead) {
        const nl = view.indexOf(NL, i);
        const end = nl === -1 ? bytesRead : nl;
        if (!content) content = hasContent(view, i, end);
        if (nl === -1) break;
        if (content) layout.add(line);
        line++;
        content = false;
        i = nl + 1;
      }
    }
    if (content) layout.add(line);
  } finally {
    await fh.close();
  }
  return layout.build();
}

/** True when bytes [from, to) hold anything but JSON whitespace. */
function hasContent(buf: Buffer, from: number, to: number): boolean {
  for (let j = from; j < to; j++) {
    const c = buf[j];
    if (c !== 32 && c !== 9 && c !== 13) return true;
  }
  return false;
}
