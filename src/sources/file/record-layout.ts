/**
 * Where the records of one text file sit, as the line numbers users see in
 * an editor (1-based, physical lines).
 *
 * Records are numbered 0.. in file order. A segment starts at a record whose
 * line is not the line after the previous record's first line (the first
 * record, a record after blank lines, a record after a CSV record that
 * spans several lines); within a segment record `r` is on line
 * `segment.line + (r - segment.record)`. A file with no blank lines and one
 * line per record has a single segment, which keeps positions free to
 * compute (rowid + 1).
 */
export interface RecordLayout {
  /** Records in the file (data records: a CSV header is not one). */
  readonly records: number;
  readonly segments: readonly Segment[];
}

export interface Segment {
  /** 0-based index of the segment's first record in its file. */
  readonly record: number;
  /** 1-based physical line of that record. */
  readonly line: number;
}

/** Builds a RecordLayout from record start lines given in order. */
export class LayoutBuilder {
  private count = 0;
  private expected = -1;
  private readonly segments: Segment[] = [];

  /** Registers the next record, which starts on physical line `line`. */
  add(line: number): void {
    if (line !== this.expected) this.segments.push({ record: this.count, line });
    this.count++;
    this.expected = line + 1;
  }

  get records(): number {
    return this.count;
  }

  build(): RecordLayout {
    return { records: this.count, segments: this.segments };
  }
}

/** Physical line of record `r` (0-based) of a file. */
export function lineOf(layout: RecordLayout, r: number): number {
  const segs = layout.segments;
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segs[mid]!.record <= r) lo = mid;
    else hi = mid - 1;
  }
  const s = segs[lo]!;
  return s.line + (r - s.record);
}
