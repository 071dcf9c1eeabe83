import { open } from "node:fs/promises";

const CHUNK = 4 << 20;
const NL = 10;

/**
 * Returns the text of the given physical lines (1-based) of a file, without
 * line terminators, decoded as UTF-8 (invalid bytes become U+FFFD). Reads
 * only up to the last line asked for. Used to report the raw text of
 * unparseable records, so the list is short compared to the file.
 */
export async function readLines(path: string, lineNumbers: Iterable<number>): Promise<Map<number, string>> {
  const wanted = new Set(lineNumbers);
  const found = new Map<number, string>();
  if (wanted.size === 0) return found;
  const last = Math.max(...wanted);
  const fh = await open(path, "r");
  const buf = Buffer.allocUnsafe(CHUNK);
  let line = 1;
  let pending: Buffer[] = [];
  try {
    outer: for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const view = buf.subarray(0, bytesRead);
      let i = 0;
      while (i < bytesRead) {
        const nl = view.indexOf(NL, i);
        const end = nl === -1 ? bytesRead : nl;
        if (wanted.has(line)) pending.push(Buffer.from(view.subarray(i, end)));
        if (nl === -1) break;
        if (wanted.has(line)) found.set(line, text(pending));
        pending = [];
        if (line === last) break outer;
        line++;
        i = nl + 1;
      }
    }
    if (wanted.has(line) && !found.has(line)) found.set(line, text(pending));
  } finally {
    await fh.close();
  }
  return found;
}

function text(parts: Buffer[]): string {
  const s = Buffer.concat(parts).toString("utf8");
  return s.endsWith("\r") ? s.slice(0, -1) : s;
}
