/** Where progress and pretty logs are written: stderr, or any stream that says whether it is a terminal. */
export interface TerminalStream {
  readonly isTTY?: boolean;
  write(chunk: string): unknown;
}

/** The progress line currently shown on each stream: log lines are written above it (writeAboveProgress). */
const shown = new WeakMap<TerminalStream, Progress>();

/**
 * Writes `text` (whole lines) to `stream` so that it never shares a line with a progress line:
 * the progress line shown there, if any, is cleared first and drawn again below the text.
 */
export function writeAboveProgress(stream: TerminalStream, text: string): void {
  const progress = shown.get(stream);
  if (!progress) {
    stream.write(text);
    return;
  }
  stream.write(`\r\x1b[K${text}`);
  progress.redraw();
}

/**
 * Progress of long work on a terminal: one line on stderr, rewritten in
 * place, with the stage and rows/s. Silent when stderr is not a terminal or
 * when disabled (`--json` keeps stderr for logs only). Log lines written with
 * writeAboveProgress (the terminal logger does) appear above it.
 */
export class Progress {
  private stage = "";
  private rows = 0;
  private stageStart = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly enabled: boolean = process.stderr.isTTY === true,
    private readonly stream: TerminalStream = process.stderr,
  ) {}

  /** Starts a named stage (extract, validate, write ...). */
  begin(stage: string): void {
    this.stage = stage;
    this.rows = 0;
    this.stageStart = Date.now();
    this.draw(true);
  }

  /** Reports rows processed so far in the current stage. */
  update(rows: number): void {
    this.rows = rows;
    this.draw(false);
  }

  /** Clears the line (before a summary is printed). */
  done(): void {
    if (this.enabled && shown.get(this.stream) === this) {
      this.stream.write("\r\x1b[K");
      shown.delete(this.stream);
    }
  }

  /** Draws the line again after a log line cleared it. */
  redraw(): void {
    this.draw(true);
  }

  private draw(force: boolean): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const secs = Math.max((now - this.stageStart) / 1000, 0.001);
    const rate = this.rows
      ? `  ${this.rows.toLocaleString("en-US")} rows  ${Math.round(this.rows / secs).toLocaleString("en-US")} rows/s`
      : "";
    this.stream.write(`\r\x1b[K${this.stage}${rate}  ${secs.toFixed(1)}s`);
    shown.set(this.stream, this);
  }
}
