import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { InputFile } from "./resolve-files.js";

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * DuckDB's JSON readers refuse a UTF-8 byte order mark ("BOM is not
 * supported"), which would make line 1 of such a file unparseable. Files that
 * start with one are copied without its three bytes into `dir` (the attempt's
 * scratch folder, removed when the attempt ends); the copy keeps the
 * original's `display`, so line numbers and messages name the original file.
 * Files without a BOM are returned as they are (no copy).
 */
export async function skipBom(files: readonly InputFile[], dir: string): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for (const [i, file] of files.entries()) {
    if (!(await startsWithBom(file.path))) {
      out.push(file);
      continue;
    }
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, `nobom-${i}-${basename(file.path)}`);
    await pipeline(createReadStream(file.path, { start: UTF8_BOM.length }), createWriteStream(copy));
    out.push({ ...file, path: copy, bytes: Math.max(file.bytes - UTF8_BOM.length, 0) });
  }
  return out;
}

async function startsWithBom(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(UTF8_BOM.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return bytesRead === UTF8_BOM.length && head.equals(UTF8_BOM);
  } finally {
    await fh.close();
  }
}
