import { open } from "node:fs/promises";
import { LayoutBuilder, type RecordLayout } from "./record-layout.js";

const CHUNK = 4 << 20;
const NL = 10;
const CR = 13;

export interface CsvScan extends RecordLayout {
  /** Physical line of the header record, when the file has one. */
  readonly headerLine: number | undefined;
  /** A quoted field was still open at the end of the file. */
  readonly unterminated: boolean;
}

/**
 * Finds the physical line each CSV record starts on, honouring quoted
 * fields that span lines (RFC 4180: a quote at the start of a field opens
 * it, the next quote closes it, and a quote right after that reopens it: a
 * doubled quote). Empty lines are not records,
 * as in DuckDB's reader. With `header`, the first record is the header and
 * is not counted.
 *
 * Jumps between quote characters and newlines with Buffer.indexOf, so the
 * cost is proportional to the bytes plus the number of quotes. The record
 * count is checked against what DuckDB read before positions are trusted.
 */
export async function scanCsvRecords(
  path: string,
  delimiter: string,
  quote: string,
  header: boolean,
): Promise<CsvScan> {
  const q = quote === "" ? -1 : quote.charCodeAt(0);
  const d = delimiter.charCodeAt(0);
  const layout = new LayoutBuilder();
  let headerLine: number | undefined;
  let headerPending = header;
  let line = 1;
  /** Line the current record started on; 0 while between records. */
  let recordLine = 0;
  let inQuote = false;
  /** Last byte of the previous chunk, and whether it closed a quoted field. */
  let prevByte = NL;
  let prevClosed = false;
  const emit = (start: number) => {
    if (headerPending) {
      headerPending = false;
      headerLine = start;
    } else {
      layout.add(start);
    }
  };

  const fh = await open(path, "r");
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    for (;;) {
      const { bytesRead: n } = await fh.read(buf, 0, CHUNK, null);
      if (n === 0) break;
      const view = buf.subarray(0, n);
      // Cached next positions: -2 unknown, -1 none left in this chunk.
      let nextQuote = q < 0 ? -1 : -2;
      let nextNl = -2;
      let lastClose: number = prevClosed ? -1 : -2;
      let i = 0;
      while (i < n) {
        if (nextQuote !== -1 && nextQuote < i) nextQuote = view.indexOf(q, i);
        if (inQuote) {
          const stop = nextQuote === -1 ? n : nextQuote;
          for (let j = view.indexOf(NL, i); j !== -1 && j < stop; j = view.indexOf(NL, j + 1)) line++;
          nextNl = -2;
          if (nextQuote === -1) break;
          inQuote = false;
          lastClose = nextQuote;
          i = nextQuote + 1;
          continue;
        }
        if (nextNl !== -1 && nextNl < i) nextNl = view.indexOf(NL, i);
        if (nextQuote !== -1 && (nextNl === -1 || nextQuote < nextNl)) {
          // A quote opens a quoted field only at the start of a field, or right after a closing quote
          // (a doubled quote inside the field); elsewhere it is a literal character, as in DuckDB.
          const before = nextQuote === 0 ? prevByte : view[nextQuote - 1];
          if (before === d || before === NL || lastClose === nextQuote - 1) {
            if (recordLine === 0) recordLine = line;
            inQuote = true;
          }
          i = nextQuote + 1;
          continue;
        }
        const end = nextNl === -1 ? n : nextNl;
        if (recordLine === 0 && hasNonCr(view, i, end)) recordLine = line;
        if (nextNl === -1) break;
        if (recordLine !== 0) emit(recordLine);
        recordLine = 0;
        line++;
        i = nextNl + 1;
      }
      prevByte = view[n - 1]!;
      prevClosed = lastClose === n - 1;
    }
    if (recordLine !== 0) emit(recordLine);
  } finally {
    await fh.close();
  }
  return { ...layout.build(), headerLine, unterminated: inQuote };
}

function hasNonCr(buf: Buffer, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (buf[j] !== CR) return true;
  return false;
}
