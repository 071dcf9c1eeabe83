import { open } from "node:fs/promises";

const CHUNK = 4 << 20;
const NL = 10;
const CR = 13;
/** A record longer than this is reported as an unclosed quote instead of being buffered further. */
const MAX_RECORD = 64 << 20;

/** One CSV record as found in the file: where it is and whether it is well formed. */
export interface CsvRecord {
  /** 1-based physical line the record starts on. */
  readonly line: number;
  /** The record's bytes without its line terminator (valid until the callback returns). */
  readonly raw: Buffer;
  /** Fields found (delimiters outside quotes + 1). */
  readonly fields: number;
  /**
   * Set when the record cannot be parsed at all. The record is then only its
   * first physical line and reading resumes on the next line, so one stray
   * quote costs one line, not the rest of the file.
   */
  readonly quoteError?: string;
}

enum S {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteSeen,
}

/**
 * Reads a CSV file record by record with RFC 4180 rules as DuckDB's strict
 * reader applies them: fields may be quoted, a doubled quote inside a quoted
 * field is a literal quote, quoted fields may span lines, a quote inside an
 * unquoted field is a literal character, a closing quote must be followed by
 * the delimiter or the end of the line. Empty lines are skipped. `\r\n` line
 * ends are accepted (the `\r` is not part of `raw`).
 *
 * This is the careful path, used only when DuckDB refused the file: it sees
 * every byte in JavaScript (about 150 MB/s) and hands each record
 * to `onRecord` in file order. Delimiter and quote are single bytes; an empty
 * quote disables quoting.
 */
export async function readCsvRecords(
  path: string,
  delimiter: string,
  quote: string,
  onRecord: (record: CsvRecord) => void | Promise<void> | undefined,
): Promise<void> {
  const d = delimiter.charCodeAt(0);
  const q = quote === "" ? -1 : quote.charCodeAt(0);
  const fh = await open(path, "r");
  try {
    let win = Buffer.allocUnsafe(CHUNK);
    let winStart = 0; // file offset of win[0]
    let winLen = 0;
    let eof = false;
    let pos = 0; // file offset of the next record
    let line = 1;
    /** Makes the window start at `pos` and hold at least `more` bytes past what it holds (unless at EOF). */
    const refill = async (grow: boolean) => {
      const keep = winStart + winLen - pos;
      let next = win;
      if (grow && keep >= win.length / 2) next = Buffer.allocUnsafe(win.length * 2);
      if (keep > 0) win.copy(next, 0, pos - winStart, pos - winStart + keep);
      win = next;
      winStart = pos;
      winLen = keep;
      while (winLen < win.length && !eof) {
        const { bytesRead } = await fh.read(win, winLen, win.length - winLen, winStart + winLen);
        if (bytesRead === 0) eof = true;
        winLen += bytesRead;
      }
    };
    await refill(false);
    for (;;) {
      if (pos >= winStart + winLen) {
        if (eof) break;
        await refill(false);
        if (winLen === 0) break;
      }
      const start = pos - winStart;
      let parsed = parseRecord(win, start, winLen, eof, d, q);
      if (parsed === undefined && winLen - start >= MAX_RECORD) parsed = tooLong();
      if (parsed === undefined) {
        await refill(true);
        continue;
      }
      if (parsed.quoteError) {
        // The record is its first physical line; resume right after it.
        const nl = win.indexOf(NL, start);
        if ((nl === -1 || nl >= winLen) && !eof && winLen - start < MAX_RECORD) {
          await refill(true);
          continue;
        }
        const lineEnd = nl === -1 || nl >= winLen ? winLen : nl;
        const pending = onRecord({
          line,
          raw: win.subarray(start, trimCr(win, start, lineEnd)),
          fields: parsed.fields,
          quoteError: parsed.quoteError,
        });
        if (pending) await pending;
        pos += lineEnd + 1 - start;
        line += 1;
        continue;
      }
      if (!parsed.blank) {
        const pending = onRecord({
          line,
          raw: win.subarray(start, trimCr(win, start, parsed.end)),
          fields: parsed.fields,
        });
        if (pending) await pending;
      }
      pos += parsed.next - start;
      line += 1 + parsed.innerNewlines;
    }
  } finally {
    await fh.close();
  }
}

interface Parsed {
  /** Window index of the end of the record's bytes (its newline, or the end of data). */
  end: number;
  /** Window index where the next record starts. */
  next: number;
  fields: number;
  innerNewlines: number;
  blank: boolean;
  quoteError?: string;
}

/** Parses one record starting at `from`; undefined when the window ends before the record does. */
function parseRecord(buf: Buffer, from: number, len: number, eof: boolean, d: number, q: number): Parsed | undefined {
  let state = S.FieldStart;
  let fields = 1;
  let innerNewlines = 0;
  const done = (end: number, next: number): Parsed => ({
    end,
    next,
    fields,
    innerNewlines,
    blank: fields === 1 && trimCr(buf, from, end) === from,
  });
  for (let p = from; p < len; p++) {
    const c = buf[p]!;
    switch (state) {
      case S.FieldStart:
        if (c === q) state = S.Quoted;
        else if (c === d) fields++;
        else if (c === NL) return done(p, p + 1);
        else state = S.Unquoted;
        break;
      case S.Unquoted:
        if (c === d) {
          fields++;
          state = S.FieldStart;
        } else if (c === NL) return done(p, p + 1);
        break;
      case S.Quoted:
        if (c === q) state = S.QuoteSeen;
        else if (c === NL) innerNewlines++;
        break;
      case S.QuoteSeen:
        if (c === q) state = S.Quoted;
        else if (c === d) {
          fields++;
          state = S.FieldStart;
        } else if (c === NL) return done(p, p + 1);
        else if (c === CR && p + 1 >= len) {
          if (!eof) return undefined; // `"\r` at the end of the data is a line end
        } else if (!(c === CR && buf[p + 1] === NL)) {
          const quoteError =
            innerNewlines > 0 ? "quoted field is not closed on its line" : "unexpected character after a closing quote";
          return { ...done(p, p), blank: false, quoteError };
        }
        break;
    }
  }
  if (!eof) return undefined;
  if (state === S.Quoted) return { ...done(len, len), blank: false, quoteError: "quoted field is never closed" };
  return done(len, len);
}

function tooLong(): Parsed {
  return {
    end: 0,
    next: 0,
    fields: 1,
    innerNewlines: 0,
    blank: false,
    quoteError: `quoted field is not closed within ${MAX_RECORD >> 20} MB`,
  };
}

/** End index of [from, end) without one trailing carriage return. */
function trimCr(buf: Buffer, from: number, end: number): number {
  return end > from && buf[end - 1] === CR ? end - 1 : end;
}
