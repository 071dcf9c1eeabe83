import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IPolicy,
  type IRetryBackoffContext,
  retry,
  wrap,
} from "cockatiel";
import type { HttpTransformConfig } from "../config/http-spec.js";
import { SluiceError } from "../errors.js";

/** A failure worth another attempt: no connection, a timeout, 408, 429, 5xx. */
export class TransientHttpError extends Error {
  constructor(
    message: string,
    /** The server's Retry-After, in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "TransientHttpError";
  }
}

/** One request's outcome that is not retried: the body of a 2xx answer, or why the API refused it (4xx). */
export type HttpAnswer = { readonly body: string } | { readonly refused: string };

/**
 * The resilience of one API, kept for the life of the process (one per step config): a stream's
 * micro-batches share it, so an open breaker stops every batch of the worker, not only one.
 * retry(transient, exponential backoff with jitter, Retry-After honoured) around a consecutive-failures
 * breaker: each attempt counts toward the breaker, and an open breaker rejects at once
 * (BrokenCircuitError, not retried); half-open after the cooldown lets one probe through.
 */
const policies = new Map<string, IPolicy>();

function policyFor(config: HttpTransformConfig): IPolicy {
  const key = JSON.stringify([config.name ?? "", config.url, config.retry, config.breaker]);
  let policy = policies.get(key);
  if (!policy) {
    const transient = handleWhen((err) => err instanceof TransientHttpError);
    const backoff = new ExponentialBackoff({ initialDelay: config.retry.base_ms, maxDelay: config.retry.max_ms });
    const retrying = retry(transient, {
      maxAttempts: config.retry.max_attempts - 1,
      backoff: honourRetryAfter(backoff),
    });
    const breaker = circuitBreaker(transient, {
      halfOpenAfter: config.breaker.cooldown_ms,
      breaker: new ConsecutiveBreaker(config.breaker.failures),
    });
    policy = wrap(retrying, breaker);
    policies.set(key, policy);
  }
  return policy;
}

/** The backoff of `inner`, except after an answer that named its Retry-After: then that long. */
function honourRetryAfter(inner: IBackoffFactory<unknown>): IBackoffFactory<IRetryBackoffContext<unknown>> {
  return {
    next(context): IBackoff<IRetryBackoffContext<unknown>> {
      const step = inner.next(context);
      const err = "error" in context.result ? context.result.error : undefined;
      const after = err instanceof TransientHttpError ? err.retryAfterMs : undefined;
      return { duration: after ?? step.duration, next: honourRetryAfter(step).next };
    },
  };
}

/** Retry-After as seconds or an HTTP date, in milliseconds (at most 10 minutes). */
function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 600_000) : undefined;
}

/** One POST: the answer, or a TransientHttpError to retry. */
async function post(config: HttpTransformConfig, body: string, signal: AbortSignal): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(config.timeout_ms);
  const both = AbortSignal.any([signal, timeout]);
  try {
    const res = await fetch(config.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...config.headers },
      body,
      signal: both,
    });
    const text = await res.text();
    if (res.ok) return { body: text };
    const why = `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
    if (res.status === 408 || res.status === 429 || res.status >= 500)
      throw new TransientHttpError(why, retryAfterMs(res.headers.get("retry-after")));
    return { refused: why };
  } catch (err) {
    if (err instanceof TransientHttpError || signal.aborted) throw err;
    if (timeout.aborted) throw new TransientHttpError(`no answer within ${config.timeout_ms} ms`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new TransientHttpError(`request failed: ${cause?.code ?? cause?.message ?? String(err)}`);
  }
}

/**
 * POSTs every body of `bodies` (in order, `config.concurrency` in flight) through the API's policy
 * and hands each answer to `onAnswer` with its index. When a request is still failing after its
 * retries, or the breaker is open, the requests in flight are abandoned and a transient SluiceError
 * is thrown: the batch fails as a whole and its driver retries it (an outage never dead-letters).
 */
export async function postAll(
  config: HttpTransformConfig,
  step: string,
  bodies: AsyncIterable<string>,
  onAnswer: (index: number, answer: HttpAnswer) => void,
): Promise<number> {
  const policy = policyFor(config);
  const batch = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let index = 0;
  for await (const body of bodies) {
    if (failure !== undefined) break;
    const n = index++;
    const request: Promise<void> = policy
      .execute(({ signal }) => post(config, body, signal), batch.signal)
      .then(
        (answer) => onAnswer(n, answer as HttpAnswer),
        (err: unknown) => {
          failure ??= err;
          batch.abort();
        },
      )
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
    if (inFlight.size >= config.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw unavailable(config, step, failure);
  return index;
}

function unavailable(config: HttpTransformConfig, step: string, err: unknown): SluiceError {
  const { failures, cooldown_ms } = config.breaker;
  if (err instanceof BrokenCircuitError) {
    return new SluiceError(`${step}: the circuit breaker is open (${failures} failed requests in a row)`, {
      component: "http",
      stage: "transform",
      transient: true,
      retryAfterMs: cooldown_ms,
      hint: `requests to ${config.url} resume with one probe every ${cooldown_ms} ms; the batch is retried, nothing is dead-lettered`,
      cause: err,
    });
  }
  if (err instanceof TransientHttpError) {
    return new SluiceError(`${step}: ${err.message} (after ${config.retry.max_attempts} attempts)`, {
      component: "http",
      stage: "transform",
      transient: true,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      hint: `the API at ${config.url} is failing; the batch is retried, nothing is dead-lettered`,
      cause: err,
    });
  }
  return err instanceof SluiceError
    ? err
    : new SluiceError(`${step}: ${err instanceof Error ? err.message : String(err)}`, {
        component: "http",
        stage: "transform",
        cause: err,
      });
}
