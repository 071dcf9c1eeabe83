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
 * A broker consumer of one stream worker slot, positioned after the slot's committed position,
 * delivering what the broker gives this slot in position order (one worker per slot: the slot's
 * lock), so "everything this consumer was given up to P is committed" is a complete description of
 * the slot's progress.
 *
 * Contract: `next` resolves with up to `max` messages, waiting at most `waitMs` once the first one is
 * there (and until one arrives or `signal` aborts: then []; a draining consumer resolves [] once it
 * delivered everything it had been given); the consumer never holds more than a
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
  /** Removes the consumer from the broker once it holds nothing (a drained slot); optional. */
  retire?(): Promise<void>;
  close(): Promise<void>;
}

/** Compares two positions of one broker: negative when `a` comes first. */
export type PositionOrder = (a: string, b: string) => number;
