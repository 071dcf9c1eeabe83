import { AckPolicy, DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { NatsSourceConfig } from "../../config/spec.js";
import { connectNats, parseNatsUrl } from "../../connectors/nats/connect-nats.js";
import { SluiceError } from "../../errors.js";
import { MessagePump } from "../stream/message-pump.js";
import type { StreamConsumer, StreamLag, StreamMessage } from "../stream/stream-consumer.js";

const COMPONENT = "source:nats";

/**
 * A JetStream durable pull consumer of one stream worker slot, positioned after `after` (the slot's
 * committed stream sequence). With `partitions: N` slot k reads the subject `<subject>.<k>` through
 * the durable `<durable>-<k>`; with one partition, `subject` (if any) through `durable`. It is
 * recreated at every start with DeliverPolicy.StartSequence and AckPolicy.All, so it delivers in
 * stream order from there, and one ack of a batch's last message acknowledges the batch. The
 * slot's lock makes this worker its only reader. Redeliveries of messages already handed over
 * (an ack_wait that expired during a long write) are dropped: the stream stays in order without
 * duplicates. At most `2 x max_rows` messages are buffered (the pull's max_messages).
 */
export async function openNatsConsumer(
  config: NatsSourceConfig,
  after: string | undefined,
  name: string,
  slot = 0,
): Promise<StreamConsumer> {
  const partitioned = config.partitions > 1;
  const durable = partitioned ? `${config.durable}-${slot}` : config.durable;
  const subject = partitioned ? `${config.subject}.${slot}` : config.subject;
  const nc = await connectNats(config.url, name, COMPONENT);
  const display = parseNatsUrl(config.url, COMPONENT).display;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.info(config.stream).catch((err: unknown) => {
      throw new SluiceError(`JetStream stream \`${config.stream}\` does not exist on ${display}`, {
        component: COMPONENT,
        stage: "connect",
        hint: "create it (`sluice produce` and `sluice generate --out nats://...` create it), or fix `stream:`",
        exitCode: 2,
        cause: err,
      });
    });
    /** The durable, (re)created to deliver from the message after `from` (the stream's start when undefined). */
    const subscribe = async (from: number | undefined): Promise<Subscription> => {
      await jsm.consumers.delete(config.stream, durable).catch(() => undefined);
      await jsm.consumers.add(config.stream, {
        durable_name: durable,
        ack_policy: AckPolicy.All,
        ...(from === undefined
          ? { deliver_policy: DeliverPolicy.All }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from + 1 }),
        ...(subject ? { filter_subject: subject } : {}),
        ack_wait: nanos(config.ack_wait_ms),
        max_ack_pending: -1,
      });
      const consumer = await jetstream(nc).consumers.get(config.stream, durable);
      const messages = await consumer.consume({ max_messages: Math.min(config.max_rows * 2, 50_000) });
      return {
        messages,
        backlog: async () => {
          const info = await consumer.info(false);
          return info.num_pending + info.num_ack_pending;
        },
        stop: () => messages.stop(),
      };
    };
    const start = after === undefined ? undefined : Number(after);
    return new NatsConsumer(`nats:${config.stream}`, await subscribe(start), start, subscribe, async () => {
      await nc.drain().catch(() => nc.close());
    });
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}

/** One consume() of the durable: its messages, its backlog, and how to stop it. */
interface Subscription {
  readonly messages: AsyncIterable<JsMsg>;
  /** Messages not yet delivered plus delivered and not yet acknowledged (the consumer's info). */
  readonly backlog: () => Promise<number>;
  readonly stop: () => void;
}

class NatsConsumer implements StreamConsumer {
  private pump: MessagePump<JsMsg>;
  private lastSeen: number;
  /** The consumer sequence of the last delivery received (0: none since the durable was created). */
  private lastDelivery = 0;
  private lastMsg: JsMsg | undefined;
  private pending = 0;
  private readonly handed = new Map<string, JsMsg>();

  constructor(
    readonly name: string,
    private subscription: Subscription,
    after: number | undefined,
    private readonly subscribe: (from: number | undefined) => Promise<Subscription>,
    private readonly closeFn: () => Promise<void>,
  ) {
    this.pump = new MessagePump(subscription.messages[Symbol.asyncIterator]());
    this.lastSeen = after ?? 0;
  }

  /**
   * The next messages in stream order. A delivery this client never received (lost in flight, e.g.
   * in a server restart) shows as a jump in the consumer sequence: AckAll of a later message would
   * acknowledge it unread. Then the durable is created again after the last message handed over,
   * and the stream is read on from there (the messages after the gap come again, in order).
   */
  async next(max: number, waitMs: number, signal: AbortSignal): Promise<StreamMessage[]> {
    const raw = await this.pump.next(max, waitMs, signal);
    const out: StreamMessage[] = [];
    for (const m of raw) {
      if (m.info.deliverySequence > this.lastDelivery + 1) {
        await this.resubscribe();
        break;
      }
      this.lastDelivery = m.info.deliverySequence;
      if (m.seq <= this.lastSeen) continue; // a redelivery of a message already handed over
      this.lastSeen = m.seq;
      this.lastMsg = m;
      this.pending = m.info.pending;
      this.handed.set(String(m.seq), m);
      out.push({
        position: String(m.seq),
        data: m.data,
        deliveries: m.info.deliveryCount,
        storedAt: Math.floor(m.info.timestampNanos / 1e6),
      });
    }
    return out;
  }

  private async resubscribe(): Promise<void> {
    this.subscription.stop();
    this.subscription = await this.subscribe(this.lastSeen === 0 ? undefined : this.lastSeen);
    this.pump = new MessagePump(this.subscription.messages[Symbol.asyncIterator]());
    this.lastDelivery = 0;
  }

  async ack(upTo: StreamMessage[]): Promise<void> {
    const last = upTo.at(-1);
    if (!last) return;
    // AckPolicy.All: acking the last message acknowledges every earlier one.
    this.handed.get(last.position)?.ack();
    const upToSeq = Number(last.position);
    for (const [position, msg] of this.handed) {
      if (msg.seq > upToSeq) break; // insertion order is stream order
      this.handed.delete(position);
    }
  }

  /** Resets the ack timer of the newest message handed over (ack_wait_ms should cover a write). */
  async working(): Promise<void> {
    this.lastMsg?.working();
  }

  /**
   * Everything not committed: what the server has not delivered yet, plus what it delivered and
   * awaits the ack of (the client's prefetch buffer and the micro-batch in flight included). The
   * last message's own pending count, when the server cannot be asked.
   */
  async lag(): Promise<StreamLag | undefined> {
    const messages = await this.subscription.backlog().catch(() => this.pending + this.handed.size);
    return { messages };
  }

  close(): Promise<void> {
    this.subscription.stop();
    return this.closeFn();
  }
}
