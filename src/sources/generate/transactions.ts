import type { Dataset, DatasetSqlContext } from "./dataset.js";
import type { GenerationPlan } from "./generation-plan.js";
import { frameSql, invalidKindSql, latenessMsSql, msAtSql, tauSql, timestampSql, withMissingSql } from "./row-frame.js";
import { hashSql, pickSql, unitSql, weightedIndexSql } from "./sql-random.js";

export const CURRENCIES = ["USD", "EUR", "GBP", "CAD", "JPY", "AUD"] as const;

/** Card merchants: name, MCC, mean amount, statement descriptor stem, popularity; a subscription has a fixed price. */
const MERCHANTS: readonly (readonly [string, string, number, string, number, boolean?])[] = [
  ["Whole Foods Market", "5411", 64, "WHOLEFDS", 6],
  ["Trader Joe's", "5411", 46, "TRADER JOE'S", 6],
  ["Safeway", "5411", 55, "SAFEWAY", 5],
  ["Kroger", "5411", 61, "KROGER", 5],
  ["Aldi", "5411", 38, "ALDI", 4],
  ["Costco", "5300", 128, "COSTCO WHSE", 3],
  ["Starbucks", "5814", 7.4, "STARBUCKS STORE", 12],
  ["McDonald's", "5814", 11.2, "MCDONALD'S", 8],
  ["Chipotle", "5814", 14.6, "CHIPOTLE", 6],
  ["Domino's", "5814", 23.5, "DOMINO'S", 4],
  ["Olive Garden", "5812", 48, "OLIVE GARDEN", 2],
  ["Sweetgreen", "5812", 16.3, "SWEETGREEN", 3],
  ["Uber", "4121", 24, "UBER *TRIP", 8],
  ["Lyft", "4121", 21, "LYFT *RIDE", 4],
  ["Shell", "5541", 46, "SHELL OIL", 5],
  ["Chevron", "5541", 51, "CHEVRON", 4],
  ["BP", "5541", 43, "BP", 2],
  ["MTA", "4111", 2.9, "MTA*NYCT PAYGO", 5],
  ["Amazon", "5999", 38, "AMZN MKTP US", 10],
  ["Target", "5310", 52, "TARGET", 5],
  ["Walmart", "5311", 47, "WAL-MART", 5],
  ["Best Buy", "5732", 180, "BEST BUY", 1],
  ["IKEA", "5712", 140, "IKEA", 1],
  ["Netflix", "4899", 15.49, "NETFLIX.COM", 2, true],
  ["Spotify", "4899", 11.99, "SPOTIFY USA", 2, true],
  ["Steam", "5816", 24, "STEAMGAMES.COM", 1],
  ["AMC Theatres", "7832", 29, "AMC THEATRES", 1],
  ["Comcast", "4899", 89.99, "COMCAST CABLE", 1, true],
  ["Verizon", "4814", 75, "VERIZON WRLS", 1, true],
  ["PG&E", "4900", 118, "PGANDE WEB ONLINE", 1],
  ["Delta Air Lines", "3058", 348, "DELTA AIR", 1],
  ["Marriott", "3509", 224, "MARRIOTT", 1],
  ["Airbnb", "7011", 310, "AIRBNB * HM", 1],
  ["CVS Pharmacy", "5912", 24, "CVS/PHARMACY", 3],
  ["Walgreens", "5912", 21, "WALGREENS", 2],
];
const CITIES = [
  "SEATTLE WA",
  "NEW YORK NY",
  "SAN FRANCISCO CA",
  "AUSTIN TX",
  "CHICAGO IL",
  "BOSTON MA",
  "DENVER CO",
  "LONDON GB",
  "BERLIN DE",
  "TORONTO ON",
];

/**
 * S2: card transactions as a bank's export has them (the classification
 * pipeline's input). Accounts are skewed (a few busy ones), each with a home
 * city and currency; merchants come with their real MCC and a statement
 * descriptor a keyword classifier can read ("STARBUCKS STORE #0412 SEATTLE
 * WA"); subscriptions have fixed prices, other amounts are skewed around the
 * merchant's mean. Rows are in time order.
 */
export const transactions: Dataset = {
  name: "transactions",
  description: "S2 card transactions (bank export), in time order",
  key: "transaction_id",
  timeColumn: "timestamp",
  columns: [
    { name: "transaction_id", type: "VARCHAR", description: "txn_ + 20 of [a-z0-9], unique" },
    { name: "account_id", type: "VARCHAR", description: "acct_ + 7 digits; activity is skewed" },
    { name: "amount", type: "DECIMAL(12,2)", description: "> 0, skewed around the merchant's mean" },
    { name: "currency", type: "VARCHAR", description: "ISO 4217 code of the account", values: CURRENCIES },
    { name: "merchant", type: "VARCHAR", description: `one of ${MERCHANTS.length} merchants` },
    { name: "mcc", type: "VARCHAR", description: "4-digit merchant category code" },
    { name: "description", type: "VARCHAR", description: "statement descriptor: stem, store number, city" },
    { name: "timestamp", type: "TIMESTAMP WITH TIME ZONE", description: "in the window, never after the anchor" },
  ],
  invalidKinds: [
    "negative amount",
    "currency not an ISO code",
    "timestamp ten years after the anchor (in the future)",
    "mcc not 4 digits",
    "transaction_id malformed",
  ],
  sql: transactionsSql,
};

function transactionsSql(plan: GenerationPlan, ctx: DatasetSqlContext): string {
  const s = plan.seed;
  const hasBad = plan.chaos.invalidRate > 0;
  const u = (salt: number, of = "src") => unitSql(hashSql(of, s, salt));
  const bad = (kind: number, broken: string, good: string) =>
    hasBad ? `CASE WHEN bad = ${kind} THEN ${broken} ELSE ${good} END` : good;
  const names = MERCHANTS.map((m) => m[0]);
  const means = MERCHANTS.map((m) => m[2]);
  const fixed = MERCHANTS.map((m) => (m[5] ? "true" : "false"));
  const amount = `CASE WHEN [${fixed.join(", ")}][m + 1] THEN [${means.join(", ")}][m + 1]
    ELSE greatest(0.5, [${means.join(", ")}][m + 1] * (0.15 + 0.85 * -ln(1 - ${u(5)}))) END`;
  const id = `concat('txn_', lower(to_base((created_ms % ${36n ** 8n}) * 1679616 + src % 1679616, 36, 12)),
    lower(to_base((${hashSql("src", s, 6)} % ${36n ** 8n})::BIGINT, 36, 8)))`;
  const columns: [string, string][] = [
    ["transaction_id", bad(4, `concat('TXN-', src)`, id)],
    ["account_id", `concat('acct_', lpad(account::VARCHAR, 7, '0'))`],
    ["amount", bad(0, `-round(${amount}, 2)::DECIMAL(12,2)`, `round(${amount}, 2)::DECIMAL(12,2)`)],
    [
      "currency",
      bad(
        1,
        pickSql(["usd", "US$", "EURO", ""], "k10 % 4"),
        pickSql(CURRENCIES, weightedIndexSql(u(7, "account"), [60, 18, 10, 6, 3, 3]), ctx.enums && !hasBad),
      ),
    ],
    ["merchant", pickSql(names, "m", ctx.enums)],
    [
      "mcc",
      bad(
        3,
        pickSql(["54x1", "999", "05411", "MCC"], "k10 % 4"),
        pickSql(
          MERCHANTS.map((x) => x[1]),
          "m",
        ),
      ),
    ],
    [
      "description",
      `concat(${pickSql(
        MERCHANTS.map((x) => x[3]),
        "m",
      )}, ' #', lpad((${hashSql("m, account", s, 8)} % 2000)::VARCHAR, 4, '0'), ' ', ${pickSql(CITIES, `(${hashSql("account", s, 9)} % ${CITIES.length})::INTEGER`)})`,
    ],
    ["timestamp", timestampSql("ts_ms")],
  ];
  const select = columns.map(([name, expr], k) => `${withMissingSql(plan, name, expr, k)} AS "${name}"`);
  return `WITH
frame AS (${frameSql(plan, ctx.positions)}),
placed AS (
  SELECT _i, src,
    ${msAtSql(plan, tauSql(plan, 31))} AS created_ms,
    ${latenessMsSql(plan)} AS late_ms,
    ${invalidKindSql(plan, 5)} AS bad,
    (${hashSql("src", s, 3)} % 10)::INTEGER AS k10,
    least(${plan.users - 1}, floor(${plan.users} * ${u(2)} * ${u(2)}))::BIGINT AS account,
    ${weightedIndexSql(
      u(4),
      MERCHANTS.map((x) => x[4]),
    )} AS m
  FROM frame
),
timed AS (
  SELECT *, CASE WHEN bad = 2 THEN ${plan.anchorMs + 3650 * 86_400_000} + created_ms % 86400000 ELSE created_ms - late_ms END AS ts_ms
  FROM placed
)
SELECT ${select.join(",\n  ")}, _i
FROM timed`;
}
