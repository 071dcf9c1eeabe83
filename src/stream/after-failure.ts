import { tmpdir } from "node:os";
import type { DeadLetterConfig } from "../config/dead-letter-spec.js";
import { Engine } from "../engine/engine.js";
import type { RunRecord } from "../plan/run-record.js";
import { pendingBatch } from "../runner/pending-batch.js";
import { publishDeadLetterBroker } from "../runner/publish-dead-letter-broker.js";
import type { StateStore } from "../runner/state-store.js";
import type { StreamSource } from "../sources/stream/stream-source.js";
import type { Logger } from "../util/logger.js";
import { redactSecrets } from "../util/redact.js";
import { writeDeadLetters } from "./dead-letter.js";

export interface FailureEnv {
  readonly dataDir: string;
  readonly pipeline: string;
  /** The name of the slot's state (see stream-slots.ts). */
  readonly stateKey: string;
  readonly stateStore: StateStore;
  readonly source: StreamSource;
  readonly log: Logger;
  readonly maxDeliveries: number;
  readonly now: () => Date;
  /** The pipeline's `dead_letter:`: the letters go to its broker too, before the position moves. */
  readonly deadLetter?: DeadLetterConfig | undefined;
  /**
   * Whether a sink may hold batch `batchId` already: an attempt of it reached the sinks, or it was
   * pending when the worker started (an earlier worker may have written it). Such a batch is never
   * split: re-cut, its messages would reach those sinks again under other batch ids.
   */
  mayHaveWritten(batchId: string): boolean;
}

/** What the driver does next after a failed micro-batch. */
export type FailureOutcome =
  | { readonly action: "retry" }
  | { readonly action: "isolate"; readonly until: string }
  | { readonly action: "dead-lettered"; readonly path: string; readonly position: string };

/**
 * Decides what follows a failed micro-batch so a message that fails every time cannot stop the
 * stream, while an outage loses nothing.
 *
 * - A transient failure (a connection, a lock: the input is not at fault): the same batch again.
 * - The batch failed on its input and no sink can hold it: the pending intent is dropped and the next
 *   batches are half as large (down to one message) until the stream is past it, to find the
 *   message that fails.
 * - One message (or a batch a sink already wrote) failing `maxDeliveries` times: its messages go
 *   to the dead letter with the error (written before the position moves past them), the state
 *   moves past them and the broker is told.
 */
export async function afterFailure(env: FailureEnv, record: RunRecord, failures: number): Promise<FailureOutcome> {
  if (record.error?.transient) return { action: "retry" };
  const state = env.stateStore.load(env.stateKey);
  const pending = pendingBatch(state);
  const until = typeof pending?.until.position === "string" ? pending.until.position : undefined;
  const messages = env.source.peek(until);
  const last = messages.at(-1)?.position;
  if (last === undefined) return { action: "retry" };
  const batchId = pending?.batch_id ?? record.batch_id ?? record.run_id;
  const reachedSinks = (record.commits ?? []).length > 0 || env.mayHaveWritten(batchId);
  const { pending: _dropped, ...rest } = state;
  if (messages.length > 1 && !reachedSinks) {
    env.stateStore.commit(env.stateKey, rest);
    env.source.limit = Math.max(1, Math.floor(messages.length / 2));
    env.log.warn(
      `micro-batch ${record.batch_id ?? record.run_id} failed (${record.error?.message}); trying ${env.source.limit} messages at a time to find the one that fails`,
    );
    return { action: "isolate", until: last };
  }
  if (failures < env.maxDeliveries) return { action: "retry" };
  const error = record.error?.message ?? `micro-batch ${record.status}`;
  const path = await writeDeadLetters(
    env.dataDir,
    env.pipeline,
    env.source.name.replace(/^\w+:/, ""),
    batchId,
    messages.map((message) => ({ message, error })),
    env.now(),
  );
  if (env.deadLetter && !(await publishStreamLetters(env, batchId, path))) return { action: "retry" };
  env.stateStore.commit(env.stateKey, { ...rest, position: last });
  await env.source.commit(last);
  env.log.warn(
    `${messages.length} message(s) up to ${env.source.name}#${last} failed ${failures} times: dead-lettered to ${path}`,
  );
  return { action: "dead-lettered", path, position: last };
}

/**
 * Publishes a stream's dead-letter file to the `dead_letter.to` broker (exactly once per batch, see
 * publishDeadLetterBroker). False when the broker failed: the batch is tried again (it comes back
 * here, rewrites the same file and publishes what the broker lacks), so no letter is lost.
 */
async function publishStreamLetters(env: FailureEnv, batchId: string, path: string): Promise<boolean> {
  const engine = await Engine.open();
  try {
    await publishDeadLetterBroker(
      { engine, pipeline: env.pipeline, batchId, scratchDir: tmpdir(), now: env.now(), log: env.log },
      env.deadLetter,
      path,
    );
    return true;
  } catch (err) {
    env.log.warn(`dead letters of ${batchId} not published (${redactSecrets(String(err))}); trying the batch again`);
    return false;
  } finally {
    engine.close();
  }
}
