/**
 * The reference classifier's keyword rules (scenario S2): a card transaction's statement descriptor,
 * merchant name and MCC -> one category of {@link CATEGORIES} and a confidence in [0, 1].
 *
 * Each rule scores its category: a keyword in the description 0.5, in the merchant name 0.3, the MCC in
 * its list 0.4. The best category wins; its confidence grows with its score and shrinks when another
 * category scored too (Comcast's MCC 4899 says entertainment, its name and descriptor say utilities),
 * minus a small deterministic wobble from a hash of the record's fields, so the same record always gets
 * the same answer. No rule matching gives `other` with a low confidence.
 */

export const CATEGORIES = [
  "groceries",
  "dining",
  "travel",
  "transport",
  "fuel",
  "entertainment",
  "utilities",
  "health",
  "shopping",
  "cash",
  "other",
] as const;

export type Category = (typeof CATEGORIES)[number];

export interface Classification {
  category: Category;
  confidence: number;
}

interface Rule {
  category: Category;
  /** Keywords, `|`-separated, matched case-insensitively as whole words in the description and merchant. */
  words: string;
  /** Merchant category codes, space-separated. */
  mcc: string;
}

const RULES: readonly Rule[] = [
  {
    category: "groceries",
    words:
      "grocery|groceries|supermarket|market|wholefds|whole foods|trader joe|safeway|kroger|aldi|costco|lidl|tesco|publix|wegmans",
    mcc: "5411 5422 5441 5451 5462 5499 5300",
  },
  {
    category: "dining",
    words:
      "restaurant|cafe|coffee|starbucks|mcdonald|chipotle|domino|pizza|olive garden|sweetgreen|burger|grill|diner|doordash|grubhub|ubereats",
    mcc: "5812 5813 5814",
  },
  {
    category: "travel",
    words: "air|airline|airlines|united|marriott|hilton|hotel|airbnb|expedia|booking|hyatt|inn|resort",
    mcc: "3058 3509 4511 4722 7011 7012",
  },
  {
    category: "transport",
    words: "uber|lyft|taxi|cab|mta|nyct|transit|metro|subway|rail|parking|toll",
    mcc: "4111 4112 4121 4131 4784 7523",
  },
  {
    category: "fuel",
    words: "shell|chevron|bp|exxon|mobil|texaco|gas|fuel|petrol|oil",
    mcc: "5541 5542 5983",
  },
  {
    category: "entertainment",
    words: "netflix|spotify|steam|steamgames|amc|theatre|theater|cinema|hulu|disney|games|music|ticketmaster",
    mcc: "4899 5815 5816 7832 7841 7922 7991",
  },
  {
    category: "utilities",
    words: "comcast|cable|verizon|wrls|wireless|at&t|t-mobile|pg&e|pgande|electric|water|energy|power|utility",
    mcc: "4812 4814 4900",
  },
  {
    category: "health",
    words: "pharmacy|cvs|walgreens|rite aid|clinic|dental|doctor|hospital|medical",
    mcc: "5912 8011 8021 8062 8099",
  },
  {
    category: "shopping",
    words: "amazon|amzn|mktp|target|walmart|wal-mart|best buy|ikea|mall",
    mcc: "5310 5311 5399 5712 5732 5999 5651 5691",
  },
  {
    category: "cash",
    words: "atm|cash|withdrawal",
    mcc: "6010 6011",
  },
];

const escapeRegExp = (word: string): string => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One case-insensitive pattern per rule; a keyword matches only as a whole word (`bp` not in `bpm`). */
const PATTERNS = RULES.map((rule) => ({
  category: rule.category,
  mcc: new Set(rule.mcc.split(" ")),
  pattern: new RegExp(`(?<![a-z0-9])(?:${rule.words.split("|").map(escapeRegExp).join("|")})(?![a-z0-9])`, "i"),
}));

const WEIGHT = { description: 0.5, merchant: 0.3, mcc: 0.4 } as const;
const FULL = WEIGHT.description + WEIGHT.merchant + WEIGHT.mcc;

/** A value as the text the rules read: strings as they are, numbers printed, anything else empty. */
function text(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

/** FNV-1a over the fields the rules read: the wobble that makes confidences differ between records. */
function fieldHash(...parts: string[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      h ^= part.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x1f;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Classifies one record (any object; missing or non-text fields read as empty). Pure and deterministic. */
export function classifyRecord(record: Readonly<Record<string, unknown>>): Classification {
  const description = text(record.description);
  const merchant = text(record.merchant);
  const mcc = text(record.mcc).trim();
  const scores = new Map<Category, number>();
  for (const rule of PATTERNS) {
    let score = 0;
    if (description && rule.pattern.test(description)) score += WEIGHT.description;
    if (merchant && rule.pattern.test(merchant)) score += WEIGHT.merchant;
    if (mcc && rule.mcc.has(mcc)) score += WEIGHT.mcc;
    if (score > 0) scores.set(rule.category, (scores.get(rule.category) ?? 0) + score);
  }
  const wobble = (fieldHash(description, merchant, mcc) % 60) / 1000; // 0 .. 0.059
  const ranked = [...scores].sort((a, b) => b[1] - a[1]);
  const best = ranked[0];
  if (!best) return { category: "other", confidence: round(0.3 - wobble) };
  const runnerUp = ranked[1]?.[1] ?? 0;
  const strength = Math.min(1, best[1] / FULL) - 0.5 * (runnerUp / FULL);
  const confidence = Math.max(0.05, 0.3 + 0.69 * strength - wobble);
  return { category: best[0], confidence: round(confidence) };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
