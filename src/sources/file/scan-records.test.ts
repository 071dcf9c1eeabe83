import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCsvRecords } from "./csv-record-reader.js";
import type { RecordLayout } from "./record-layout.js";
import { scanCsvRecords } from "./scan-csv-records.js";
import { scanJsonlLines } from "./scan-jsonl-lines.js";

// The scanners read 4 MB chunks; these files are ~10 MB so records, quotes, CRLFs and blank lines
// fall across chunk boundaries. The generator knows the line every record starts on.

/** Line of each record, expanded from a layout's segments. */
function lines(layout: RecordLayout): number[] {
  const out: number[] = [];
  layout.segments.forEach((s, i) => {
    const end = layout.segments[i + 1]?.record ?? layout.records;
    for (let r = s.record; r < end; r++) out.push(s.line + (r - s.record));
  });
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const dir = mkdtempSync(join(tmpdir(), "sluice-scan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("record scanners across chunk boundaries", () => {
  it("CSV: the scan and the careful reader find every record on its first line", async () => {
    const rnd = random(7);
    const parts: string[] = ["id,text,n\n"];
    const expected: number[] = [];
    let line = 2;
    for (let i = 0; i < 120_000; i++) {
      const kind = rnd();
      const nl = rnd() < 0.3 ? "\r\n" : "\n";
      let text: string;
      let inner = 0;
      if (kind < 0.1) {
        text = `"multi${nl}line ""q"" , text${nl}x"`;
        inner = 2;
      } else if (kind < 0.3) text = `"quoted, ""with"" quotes ${"y".repeat(Math.floor(rnd() * 40))}"`;
      else if (kind < 0.35) text = `mid"quote`;
      else text = `plain${"z".repeat(Math.floor(rnd() * 60))}`;
      expected.push(line);
      parts.push(`${i},${text},${i * 3}${nl}`);
      line += 1 + inner;
      if (rnd() < 0.02) {
        parts.push("\n");
        line++;
      }
    }
    const path = join(dir, "big.csv");
    writeFileSync(path, parts.join(""));

    const scan = await scanCsvRecords(path, ",", '"', true);
    expect(scan.headerLine).toBe(1);
    expect(scan.unterminated).toBe(false);
    expect(scan.records).toBe(expected.length);
    expect(lines(scan)).toEqual(expected);

    const careful: number[] = [];
    const widths = new Set<number>();
    await readCsvRecords(path, ",", '"', (r) => {
      expect(r.quoteError).toBeUndefined();
      careful.push(r.line);
      widths.add(r.fields);
    });
    expect(careful).toEqual([1, ...expected]);
    expect([...widths]).toEqual([3]);
  });

  it("JSONL: blank and whitespace-only lines are skipped, every record keeps its line", async () => {
    const rnd = random(11);
    const parts: string[] = [];
    const expected: number[] = [];
    let line = 1;
    for (let i = 0; i < 150_000; i++) {
      const r = rnd();
      if (r < 0.01) parts.push("\n");
      else if (r < 0.02) parts.push(" \t\r\n");
      else {
        parts.push(`{"id":${i},"pad":"${"p".repeat(Math.floor(rnd() * 80))}"}${rnd() < 0.2 ? "\r\n" : "\n"}`);
        expected.push(line);
      }
      line++;
    }
    parts.push('{"last":true}'); // no final newline
    expected.push(line);
    const path = join(dir, "big.jsonl");
    writeFileSync(path, parts.join(""));
    const scan = await scanJsonlLines(path);
    expect(scan.records).toBe(expected.length);
    expect(lines(scan)).toEqual(expected);
  });
});
