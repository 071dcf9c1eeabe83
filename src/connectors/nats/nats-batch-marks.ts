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
 * on `sluice_batches.<sha1(subject, target stream's creation time, batch id)>` published after the
 * last message of the batch was acknowledged. `holds` finds the target stream, then reads the
 * mark subject's last message (three requests).
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

  /**
   * The mark of batch `batchId` on the subject: a hash of the subject, the creation time of the
   * stream capturing it, and the batch id. A stream deleted and created again (purged by an
   * operator, a demo reset) starts with no marks, so batches published before are published again
   * instead of being skipped as held. Undefined when no stream captures the subject (nothing held).
   */
  private async markSubject(batchId: string): Promise<string | undefined> {
    const name = await this.jsm.streams.find(this.subject).catch(() => undefined);
    if (!name) return undefined;
    const { created } = await this.jsm.streams.info(name);
    const hash = createHash("sha1").update(`${this.subject}\n${created}\n${batchId}`).digest("hex");
    return `${MARKS_STREAM}.${hash}`;
  }

  /** Whether the subject got every message of batch `batchId` (its mark exists). */
  async holds(batchId: string): Promise<boolean> {
    try {
      const info = await this.jsm.streams.info(MARKS_STREAM).catch(() => undefined);
      if (!info) return false;
      const subject = await this.markSubject(batchId);
      if (!subject) return false;
      const mark = await this.jsm.streams.getMessage(MARKS_STREAM, { last_by_subj: subject }).catch((err: unknown) => {
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
      const subject = await this.markSubject(batchId);
      if (!subject) throw new Error(`no JetStream stream captures ${this.subject}`);
      await jetstream(this.nc, { timeout: 30_000 }).publish(subject, body);
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
