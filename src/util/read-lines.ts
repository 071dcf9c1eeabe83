import { createReadStream } from "node:fs";

/**
 * The non-empty lines of a UTF-8 text file, in order, without their `\n` (or `\r\n`), read in
 * 1 MiB chunks: memory stays flat whatever the file's size.
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
      const line = text.slice(start, text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
      if (line !== "") yield line;
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== "") yield rest.endsWith("\r") ? rest.slice(0, -1) : rest;
}
