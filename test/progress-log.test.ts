import { describe, expect, it } from "vitest";
import { createLogger } from "../src/util/logger.js";
import { Progress } from "../src/util/progress.js";

/** A terminal-like stream: records what is written and renders it the way a terminal shows it. */
function fakeTerminal() {
  let written = "";
  const stream = {
    isTTY: true,
    write(chunk: string) {
      written += chunk;
      return true;
    },
  };
  /** The screen's lines: `\r` returns to column 0, ESC[K erases to the end of the line, `\n` starts a line. */
  const screen = () => {
    const lines = [""];
    let col = 0;
    for (let i = 0; i < written.length; i++) {
      const line = lines.length - 1;
      if (written.startsWith("\x1b[K", i)) {
        lines[line] = lines[line]!.slice(0, col);
        i += 2;
      } else if (written[i] === "\r") col = 0;
      else if (written[i] === "\n") {
        lines.push("");
        col = 0;
      } else {
        const cur = lines[line]!.padEnd(col);
        lines[line] = cur.slice(0, col) + written[i] + cur.slice(col + 1);
        col++;
      }
    }
    return lines;
  };
  return { stream, screen };
}

describe("progress line and log lines on a terminal", () => {
  it("a log line clears the progress line first and the progress line is drawn again after it", () => {
    const term = fakeTerminal();
    const progress = new Progress(true, term.stream);
    const log = createLogger("info", term.stream);
    progress.begin("extract");
    log.info("source: 3 files");
    log.warn("slow disk");
    const lines = term.screen();
    expect(lines.slice(0, 2)).toEqual(["source: 3 files", "WARN slow disk"]);
    expect(lines[2]).toMatch(/^extract {2}\d+\.\ds$/);
    expect(lines).toHaveLength(3);
    progress.done();
    log.info("done");
    expect(term.screen()).toEqual(["source: 3 files", "WARN slow disk", "done", ""]);
  });
});
