/** One message of a stream, as a consumer hands it over. */
export interface StreamMessage {
  /** The broker's position: a JetStream stream sequence ("1234"), a Redis entry id ("1700000000000-0"). */
  readonly position: string;
  /** The payload bytes (a JSON record). */
  readonly data: Uint8Array;
  /** How often the broker delivered it (1 the first time). */
  readonly deliveries: number;
  /** When the broker stored it (ms since the epoch), for lag in seconds. */
  readonly storedAt?: number;
}

/** How far the consumer is behind the stream. */
export interface StreamLag {
  readonly messages: number;
  /** Age of the oldest message not yet committed, in seconds (undefined when unknown). */
  readonly seconds?: number;
}

/**
 * A broker consumer positioned after the pipeline's committed position, delivering in position
 * order with no gaps (one worker per stream: the pipeline lock), so "everything up to P is
 * committed" is a complete description of progress.
 *
 * Contract: `next` resolves with up to `max` messages, waiting at most `waitMs` once the first one is
 * there (and until one arrives or `signal` aborts: then []); the consumer never holds more than a
 * bounded number of messages in memory. `ack(upTo)` tells the broker everything up to and including
 * `upTo` is durably committed (called only after the state moved). `working` keeps messages from
 * being redelivered while a long write runs.
 */
export interface StreamConsumer {
  /** `nats:events`, `redis:events`: for positions and messages. */
  readonly name: string;
  next(max: number, waitMs: number, signal: AbortSignal): Promise<StreamMessage[]>;
  ack(upTo: StreamMessage[]): Promise<void>;
  working(): Promise<void>;
  lag(): Promise<StreamLag | undefined>;
  close(): Promise<void>;
}

/** Compares two positions of one broker: negative when `a` comes first. */
export type PositionOrder = (a: string, b: string) => number;
