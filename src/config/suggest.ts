import { closest, distance } from "fastest-levenshtein";

/** The closest candidate to `word` if it is plausibly a typo of it, else undefined. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word, candidates as string[]);
  const limit = Math.max(2, Math.floor(best.length / 3));
  return distance(word, best) <= limit ? best : undefined;
}
