/**
 * Ids of small dimensions (lessons, cards, merchants ...): at most a few
 * thousand values, made here once per generation and inlined into the SQL as
 * a constant list, which DuckDB indexes per row far faster than it builds a
 * string. Deterministic: a function of (seed, salt, index) only.
 */

const MASK = 0xffffffffffffffffn;

/** splitmix64 of (seed, salt, index): a well-mixed 64-bit value. */
export function mix64(seed: number, salt: number, index: number): bigint {
  let x = (BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(salt) * 0xd1b54a32d192ed03n + BigInt(index) + 1n) & MASK;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return x ^ (x >> 31n);
}

function base36(value: bigint | number, width: number): string {
  const v = BigInt(value) % 36n ** BigInt(width);
  return v.toString(36).padStart(width, "0");
}

/**
 * `count` cuid-shaped ids (c + 24 of [a-z0-9]): creation time `tsMs(k)`,
 * counter `k + counterBase`, fingerprint `fingerprint`, and random digits
 * from (seed, salt, k).
 */
export function dimensionCuids(
  seed: number,
  salt: number,
  count: number,
  tsMs: (k: number) => number,
  fingerprint: number,
  counterBase = 0,
): string[] {
  return Array.from(
    { length: count },
    (_, k) =>
      `c${base36(tsMs(k), 8)}${base36(k + counterBase, 4)}${base36(fingerprint, 4)}${base36(mix64(seed, salt, k), 8)}`,
  );
}

/** `count` strings of `width` random base-36 digits from (seed, salt, k). */
export function randomDigits(seed: number, salt: number, count: number, width: number): string[] {
  return Array.from({ length: count }, (_, k) => base36(mix64(seed, salt, k), width));
}
