import { SluiceError } from "../../errors.js";
import type { ExtractResult, Source, SourceContext } from "../source.js";
import { messagesRelation } from "./messages-relation.js";
import type { PositionOrder, StreamConsumer, StreamMessage } from "./stream-consumer.js";

/** Micro-batching settings of a streaming source (SPEC section 9). */
export interface MicroBatching {
  readonly max_rows: number;
  readonly max_wait_ms: number;
  readonly max_message_bytes: number;
}

/**
 * A stream as a Source of micro-batches, for the stream driver: `fill` waits for messages, each
 * `extract` hands over the next batch as a relation (see messagesRelation), and `commit` drops the
 * batch once the state moved past it, acknowledging it to the broker.
 *
 * Contract: a batch stays buffered until committed, so a retried attempt extracts the same
 * messages; with `ctx.until` (a batch an earlier worker left pending) the batch is exactly the
 * messages up to that position (it waits for the broker rather than finish it with fewer). `nextState` is `{ position }` of the batch's last message and the
 * batch id names the stream and the first and last positions, so a batch has the same id however
 * often it is read.
 */
export class StreamSource implements Source {
  private buffer: StreamMessage[] = [];
  /** The consumer's reads, one at a time (a prefetch runs while a batch is processed). */
  private reads: Promise<void> = Promise.resolve();
  /** Messages per micro-batch: `max_rows`, lowered by the driver to isolate a message that fails. */
  limit: number;

  constructor(
    private readonly consumer: StreamConsumer,
    private readonly settings: MicroBatching,
    private readonly order: PositionOrder,
    private readonly stop: AbortSignal,
  ) {
    this.limit = settings.max_rows;
  }

  get name(): string {
    return this.consumer.name;
  }

  /** Waits until a batch is buffered (max_rows, or max_wait_ms after its first message); false when stopped first. */
  async fill(): Promise<boolean> {
    // Buffered messages (a prefetch's, or a batch that must run again) make the batch at once: a
    // read still in flight may wait for messages that never come.
    if (this.buffer.length > 0) return true;
    await this.reads;
    if (this.buffer.length === 0) await this.pull(this.limit, this.settings.max_wait_ms, this.stop);
    return this.buffer.length > 0;
  }

  /**
   * Reads the next batch's messages in the background while this one is processed (broker I/O
   * overlaps the engine's work); at most two batches are ever buffered.
   */
  private prefetch(): void {
    const room = 2 * this.limit - this.buffer.length;
    if (room > 0 && Number.isFinite(room))
      void this.pull(Math.min(room, this.limit), this.settings.max_wait_ms, this.stop);
  }

  /** Appends up to `max` messages read from the consumer, after any read in progress. */
  private pull(max: number, waitMs: number, signal: AbortSignal): Promise<void> {
    const read = async () => {
      this.buffer.push(...(await this.consumer.next(max, waitMs, signal)));
    };
    const next = this.reads.then(read, read);
    this.reads = next.catch(() => undefined);
    return next;
  }

  async extract(ctx: SourceContext): Promise<ExtractResult> {
    const until = typeof ctx.until?.position === "string" ? ctx.until.position : undefined;
    const batch = until === undefined ? this.buffer.slice(0, this.limit) : await this.upTo(until, ctx);
    this.prefetch();
    const loaded = await messagesRelation(
      ctx,
      batch,
      this.consumer.name.replace(/^\w+:/, ""),
      this.settings.max_message_bytes,
    );
    const first = batch[0]?.position ?? "none";
    const last = batch.at(-1)?.position ?? "none";
    return {
      relation: loaded.relation,
      rows: loaded.rows,
      ...(loaded.unparseable ? { unparseable: loaded.unparseable } : {}),
      ...(loaded.materialize ? { materialize: loaded.materialize } : {}),
      ...(batch.length ? { nextState: { position: last } } : {}),
      extent: "append",
      batchId: `${this.consumer.name.replace(/[^\w.-]+/g, "_")}-${first}-${last}`,
      description: `${batch.length} messages of ${this.consumer.name} (${first}..${last})`,
    };
  }

  /** The buffered messages up to and including `until`, reading more until it is there. */
  private async upTo(until: string, ctx: SourceContext): Promise<StreamMessage[]> {
    const reached = () => this.buffer.some((m) => this.order(m.position, until) >= 0);
    if (!reached()) await this.reads;
    while (!reached()) {
      const before = this.buffer.length;
      await this.pull(this.settings.max_rows, this.settings.max_wait_ms, AbortSignal.timeout(10_000));
      if (this.buffer.length > before) continue;
      // Never finished with fewer messages than it was started with: a sink that holds it would
      // disagree with one that gets the rest. Wait for the broker (a restart, a slow replica).
      if (this.stop.aborted) {
        throw new SluiceError(`stopped before the pending batch was read again up to ${this.consumer.name}#${until}`, {
          component: `source:${this.consumer.name.split(":")[0]}`,
          stage: "extract",
          hint: "the next `sluice stream` finishes it",
          transient: true,
        });
      }
      ctx.log.warn(`${this.consumer.name}: waiting for position ${until} of the pending batch`);
    }
    const end = this.buffer.findIndex((m) => this.order(m.position, until) > 0);
    return this.buffer.slice(0, end < 0 ? this.buffer.length : end);
  }

  /** Back to `max_rows` per micro-batch (after a failing message was isolated). */
  resetLimit(): void {
    this.limit = this.settings.max_rows;
  }

  /** Whether position `a` comes before `b` in the stream. */
  before(a: string, b: string): boolean {
    return this.order(a, b) < 0;
  }

  /** The messages the next batch holds: up to `until` (a pending batch), else the first `limit`. */
  peek(until?: string): StreamMessage[] {
    if (until === undefined) return this.buffer.slice(0, this.limit);
    const end = this.buffer.findIndex((m) => this.order(m.position, until) > 0);
    return this.buffer.slice(0, end < 0 ? this.buffer.length : end);
  }

  /** The state moved past `position`: drop those messages and acknowledge them to the broker. */
  async commit(position: string): Promise<void> {
    const end = this.buffer.findIndex((m) => this.order(m.position, position) > 0);
    const done = this.buffer.splice(0, end < 0 ? this.buffer.length : end);
    await this.consumer.ack(done);
  }

  /** The broker's count of messages behind, and the age of the oldest buffered message. */
  async lag(): ReturnType<StreamConsumer["lag"]> {
    const behind = await this.consumer.lag();
    const oldest = this.buffer[0]?.storedAt;
    const seconds = oldest === undefined ? undefined : Math.max(0, (Date.now() - oldest) / 1000);
    if (!behind && seconds === undefined) return undefined;
    return { messages: behind?.messages ?? this.buffer.length, ...(seconds !== undefined ? { seconds } : {}) };
  }

  working(): Promise<void> {
    return this.consumer.working();
  }

  /** See StreamConsumer.retire. */
  async retire(): Promise<void> {
    await this.consumer.retire?.();
  }

  close(): Promise<void> {
    return this.consumer.close();
  }
}
