/**
 * The classifier's fault injection: latency, whole-request errors, malformed items and an outage window.
 *
 * Every request gets a sequence number on arrival (1, 2, 3 ...) and its own random stream, a pure function
 * of (seed, sequence number): the draws of request n do not depend on how many items earlier requests had,
 * so with one client sending one request at a time the same seed gives the same faults.
 */

export interface FaultSettings {
  /** Injected delay per request: a fixed [n, n] or a uniform [min, max], in milliseconds. */
  latencyMs: readonly [number, number];
  /** Share of requests that fail as a whole (500, 503, or 429 with Retry-After), 0..1. */
  errorRate: number;
  /** Share of answer items that are malformed, 0..1. */
  malformedRate: number;
  /** The outage window in seconds from the start: every request in it gets a 503. */
  outage?: { afterS: number; forS: number };
  /** Retry-After of an injected 429, seconds. */
  retryAfterS: number;
  seed: number;
}

/** What the server does with one request before it classifies anything. */
export type RequestFault =
  | { kind: "outage" }
  | { kind: "error"; status: 500 | 503 | 429; retryAfterS?: number }
  | { kind: "none" };

/** The ways an answer item is broken (`missing` leaves the item out of the answer). */
export const MALFORMED_KINDS = [
  "bad_category",
  "confidence_out_of_range",
  "confidence_string",
  "missing_key",
  "missing",
] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** The random stream of one request. */
export type Draw = () => number;

/** SplitMix32 over (seed, n): a uniform [0, 1) stream per request, independent of every other request. */
export function requestRandom(seed: number, n: number): Draw {
  let state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(n >>> 0, 0x85ebca6b) ^ 0x6a09e667) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0d4ed);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    return (z >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  readonly settings: FaultSettings;
  private readonly startedAt: number;

  constructor(settings: FaultSettings, startedAt = performance.now()) {
    this.settings = settings;
    this.startedAt = startedAt;
  }

  /** True while the outage window is open (seconds since the start in [after, after + for)). */
  inOutage(now = performance.now()): boolean {
    const outage = this.settings.outage;
    if (!outage) return false;
    const s = (now - this.startedAt) / 1000;
    return s >= outage.afterS && s < outage.afterS + outage.forS;
  }

  /**
   * The fault of a request and its injected delay. Draw order is fixed (latency, error, error kind), so
   * the item draws that follow are the same whatever this request's outcome.
   */
  requestFault(draw: Draw): { fault: RequestFault; delayMs: number } {
    const [min, max] = this.settings.latencyMs;
    const delayMs = Math.round(min + (max - min) * draw());
    const failing = draw() < this.settings.errorRate;
    const which = draw();
    if (this.inOutage()) return { fault: { kind: "outage" }, delayMs: 0 };
    if (!failing) return { fault: { kind: "none" }, delayMs };
    if (which < 1 / 3) return { fault: { kind: "error", status: 500 }, delayMs };
    if (which < 2 / 3) return { fault: { kind: "error", status: 503 }, delayMs };
    return { fault: { kind: "error", status: 429, retryAfterS: this.settings.retryAfterS }, delayMs };
  }

  /** Breaks a share of the answer items (in place of the good ones); returns the answer and the count broken. */
  malform(items: readonly Record<string, unknown>[], key: string, draw: Draw): { items: unknown[]; malformed: number } {
    const out: unknown[] = [];
    let malformed = 0;
    for (const item of items) {
      const hit = draw() < this.settings.malformedRate;
      const kind = MALFORMED_KINDS[Math.floor(draw() * MALFORMED_KINDS.length)] ?? "missing";
      const size = draw();
      if (!hit) {
        out.push(item);
        continue;
      }
      malformed++;
      if (kind === "missing") continue;
      out.push(breakItem(item, key, kind, size));
    }
    return { items: out, malformed };
  }
}

function breakItem(item: Record<string, unknown>, key: string, kind: MalformedKind, size: number): unknown {
  const confidence = typeof item.confidence === "number" ? item.confidence : 0.5;
  switch (kind) {
    case "bad_category":
      return { ...item, category: size < 0.5 ? "unknown_category" : String(item.category).toUpperCase() };
    case "confidence_out_of_range":
      return { ...item, confidence: size < 0.5 ? Math.round((1 + confidence) * 1000) / 1000 : -confidence };
    case "confidence_string":
      return { ...item, confidence: String(confidence) };
    case "missing_key": {
      const { [key]: _dropped, ...rest } = item;
      return rest;
    }
    default:
      return item;
  }
}

/** `--latency-ms`: `N` or `N-M` (milliseconds, M >= N), else undefined. */
export function parseLatency(text: string): [number, number] | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  return max >= min ? [min, max] : undefined;
}
