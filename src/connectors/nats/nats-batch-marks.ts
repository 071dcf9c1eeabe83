import { createHash } from "node:crypto";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { SluiceError } from "../../errors.js";
import { redactSecrets } from "../../util/redact.js";
import { connectNats } from "./connect-nats.js";
import { parseNatsTarget } from "./publish-nats.js";

/** The JetStream stream holding one mark per batch a publish sink completed. */
export const MARKS_STREAM = "sluice_batches";
/** How long a mark is kept: a batch published again later than this is published again. */
const MARK_DAYS = 7;

/**
 * The batches a `nats` sink completed, per subject: the stream `sluice_batches` (created when
 * missing; subjects `sluice_batches.>`, one message per subject, marks expire after 7 days), a mark
 * on `sluice_batches.<sha1(subject, batch id)>` published after the last message of the batch
 * was acknowledged. `holds` reads the subject's last message (one direct request).
 */
export class NatsBatchMarks {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly subject: string,
    private readonly display: string,
    private readonly component: string,
  ) {}

  static async open(url: string, component: string): Promise<NatsBatchMarks> {
    const target = parseNatsTarget(url, component);
    const nc = await connectNats(target.server, `sluice ${component}`, component);
    try {
      const jsm = await jetstreamManager(nc, { timeout: 10_000 });
      return new NatsBatchMarks(nc, jsm, target.subject, target.display, component);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw failure(err, target.display, component, "connect");
    }
  }

  private markSubject(batchId: string): string {
    return `${MARKS_STREAM}.${createHash("sha1").update(`${this.subject}\n${batchId}`).digest("hex")}`;
  }

  /** Whether the subject got every message of batch `batchId` (its mark exists). */
  async holds(batchId: string): Promise<boolean> {
    try {
      const info = await this.jsm.streams.info(MARKS_STREAM).catch(() => undefined);
      if (!info) return false;
      const mark = await this.jsm.streams
        .getMessage(MARKS_STREAM, { last_by_subj: this.markSubject(batchId) })
        .catch((err: unknown) => {
          if (/no message found|not found|404/i.test(String(err))) return null;
          throw err;
        });
      return mark !== null;
    } catch (err) {
      throw failure(err, this.display, this.component, "holds");
    }
  }

  /** Records that batch `batchId` is complete on the subject. */
  async mark(batchId: string, rows: number, now: Date): Promise<void> {
    try {
      const info = await this.jsm.streams.info(MARKS_STREAM).catch(() => undefined);
      if (!info) {
        await this.jsm.streams
          .add({
            name: MARKS_STREAM,
            subjects: [`${MARKS_STREAM}.>`],
            max_msgs_per_subject: 1,
            max_age: MARK_DAYS * 24 * 3600 * 1_000_000_000,
          })
          .catch(async (err: unknown) => {
            // Another sink created it meanwhile.
            if (!(await this.jsm.streams.info(MARKS_STREAM).catch(() => undefined))) throw err;
          });
      }
      const body = JSON.stringify({ subject: this.subject, batch_id: batchId, rows, at: now.toISOString() });
      await jetstream(this.nc, { timeout: 30_000 }).publish(this.markSubject(batchId), body);
    } catch (err) {
      throw failure(err, this.display, this.component, "publish");
    }
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }
}

function failure(err: unknown, display: string, component: string, stage: string): SluiceError {
  const text = redactSecrets(err instanceof Error ? err.message : String(err));
  return new SluiceError(`cannot read or record the batches published to ${display}: ${text}`, {
    component,
    stage,
    hint: "check that the NATS server runs with JetStream (the sink keeps its marks in the stream sluice_batches)",
    transient: /timeout|connection|disconnect|closed|503/i.test(text),
    cause: err,
  });
}
