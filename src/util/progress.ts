/**
 * Progress of long work on a terminal: one line on stderr, rewritten in
 * place, with the stage and rows/s. Silent when stderr is not a terminal or
 * when disabled (`--json` keeps stderr for logs only).
 */
export class Progress {
  private stage = "";
  private rows = 0;
  private stageStart = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly enabled: boolean = process.stderr.isTTY === true) {}

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
    if (this.enabled && this.drawn) process.stderr.write("\r\x1b[K");
    this.drawn = false;
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
    process.stderr.write(`\r\x1b[K${this.stage}${rate}  ${secs.toFixed(1)}s`);
    this.drawn = true;
  }
}
