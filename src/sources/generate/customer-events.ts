import type { Dataset, DatasetSqlContext } from "./dataset.js";
import type { GenerationPlan } from "./generation-plan.js";
import { frameSql, invalidKindSql, latenessMsSql, msAtSql, tauSql, withMissingSql } from "./row-frame.js";
import { hashSql, pickSql, unitSql, weightedIndexSql } from "./sql-random.js";

export const CUSTOMER_EVENT_TYPES = [
  "page_view",
  "product_view",
  "search",
  "add_to_cart",
  "checkout_started",
  "purchase",
  "login",
  "signup",
] as const;

/** IANA zone of the `ts` strings written without an offset (wall-clock time there). */
export const CUSTOMER_EVENTS_NAIVE_ZONE = "Europe/Paris";

/** Offsets (minutes) of the users' clients; null = no offset written (wall clock in the naive zone). */
const ZONES: readonly (readonly [number | null, number])[] = [
  [0, 35],
  [540, 15],
  [-300, 15],
  [60, 10],
  [330, 10],
  [null, 15],
];
const QUERIES = ["running shoes", "laptop stand", "coffee beans", "usb-c cable", "yoga mat", "desk lamp"];

/**
 * S4: client events of a web shop at volume. Every user has a client zone:
 * `ts` is text written the way that client writes it, so the column mixes
 * `2025-03-01T09:00:00.123Z`, `2025-03-01T18:00:00+09:00`, `...-05:00`,
 * `...+05:30` and offset-less wall-clock times in Europe/Paris (normalize
 * with the `timezone` transform, `source_zone: Europe/Paris`). The instants
 * are in order. customer_id is the CRM's id of the same person
 * (`CUST-` + 7 digits, a bijection of the user), so a mapping table
 * `SELECT DISTINCT customer_id, user_id` recovers user_id where it is missing
 * (inject that with chaos `missing_rate: { user_id: 0.03 }`).
 */
export const customerEvents: Dataset = {
  name: "customer_events",
  description: "S4 web-shop client events with ts strings in mixed zone offsets",
  key: "event_id",
  timeColumn: "ts",
  columns: [
    { name: "event_id", type: "VARCHAR", description: "evt_ + 20 of [a-z0-9], unique" },
    { name: "user_id", type: "VARCHAR", description: "usr_ + 7 digits; skewed" },
    { name: "customer_id", type: "VARCHAR", description: "CUST- + 7 digits, one per user (the CRM's id)" },
    { name: "event_type", type: "VARCHAR", description: "one of the 8 event types", values: CUSTOMER_EVENT_TYPES },
    { name: "properties", type: "VARCHAR", description: "JSON object text depending on event_type" },
    {
      name: "ts",
      type: "VARCHAR",
      description: `ISO-8601 text with Z, +hh:mm or no offset (wall clock in ${CUSTOMER_EVENTS_NAIVE_ZONE})`,
    },
  ],
  invalidKinds: [
    "ts not a timestamp",
    "event_type outside the enum",
    "ts ten years after the anchor (in the future)",
    "properties not valid JSON (truncated)",
    "event_id malformed",
  ],
  sql: customerEventsSql,
};

function customerEventsSql(plan: GenerationPlan, ctx: DatasetSqlContext): string {
  const s = plan.seed;
  const hasBad = plan.chaos.invalidRate > 0;
  const u = (salt: number, of = "src") => unitSql(hashSql(of, s, salt));
  const bad = (kind: number, broken: string, good: string) =>
    hasBad ? `CASE WHEN bad = ${kind} THEN ${broken} ELSE ${good} END` : good;
  const product = `concat('p-', (${hashSql("src", s, 8)} % 5000)::VARCHAR)`;
  const price = `round(4.99 + 120 * ${u(9)} * ${u(9)}, 2)`;
  const properties = `CASE et
    WHEN 0 THEN concat('{"path":"/', ${pickSql(["", "products", "deals", "cart", "account"], "k10 % 5")}, '","referrer":"', ${pickSql(["google", "direct", "newsletter", "instagram"], "(k10 // 5 + k10) % 4")}, '"}')
    WHEN 1 THEN concat('{"productId":"', ${product}, '","price":', ${price}, '}')
    WHEN 2 THEN concat('{"query":"', ${pickSql(QUERIES, `(k10 % ${QUERIES.length})`)}, '","results":', (${hashSql("src", s, 10)} % 200)::VARCHAR, '}')
    WHEN 3 THEN concat('{"productId":"', ${product}, '","quantity":', (1 + k10 % 3)::VARCHAR, '}')
    WHEN 4 THEN concat('{"cartValue":', round(${price} * (1 + k10 % 3), 2), '}')
    WHEN 5 THEN concat('{"orderId":"o-', src::VARCHAR, '","revenue":', round(${price} * (1 + k10 % 3), 2), ',"currency":"USD"}')
    WHEN 6 THEN concat('{"method":"', ${pickSql(["password", "google", "apple", "magic_link"], "k10 % 4")}, '"}')
    ELSE concat('{"plan":"', ${pickSql(["free", "free", "free", "plus", "pro"], "k10 % 5")}, '"}') END`;
  const zone = weightedIndexSql(
    u(6, "uid"),
    ZONES.map((z) => z[1]),
  );
  const offsets = ZONES.map((z) => z[0] ?? 0);
  const suffixes = ZONES.map(([m]) =>
    m === null
      ? ""
      : m === 0
        ? "Z"
        : `${m < 0 ? "-" : "+"}${String(Math.floor(Math.abs(m) / 60)).padStart(2, "0")}:${String(Math.abs(m) % 60).padStart(2, "0")}`,
  );
  const naive = ZONES.findIndex((z) => z[0] === null);
  const local = `make_timestamp((ts_ms + [${offsets.join(", ")}][zone + 1] * 60000) * 1000)`;
  const ts = `CASE WHEN zone = ${naive} THEN strftime(timezone('${CUSTOMER_EVENTS_NAIVE_ZONE}', to_timestamp(ts_ms / 1000.0)), '%Y-%m-%dT%H:%M:%S')
    WHEN zone = 0 THEN strftime(${local}, '%Y-%m-%dT%H:%M:%S.%g') || 'Z'
    ELSE strftime(${local}, '%Y-%m-%dT%H:%M:%S') || ${pickSql(suffixes, "zone")} END`;
  const columns: [string, string][] = [
    [
      "event_id",
      bad(
        4,
        "concat('EVT#', src)",
        `concat('evt_', lower(to_base((ts_ms % ${36n ** 8n}) * 1679616 + src % 1679616, 36, 12)), lower(to_base((${hashSql("src", s, 11)} % ${36n ** 8n})::BIGINT, 36, 8)))`,
      ),
    ],
    ["user_id", "concat('usr_', lpad(uid::VARCHAR, 7, '0'))"],
    ["customer_id", "concat('CUST-', lpad(((uid * 7919 + 104729) % 10000000)::VARCHAR, 7, '0'))"],
    [
      "event_type",
      bad(
        1,
        pickSql(["PageView", "page-view", "purchased", "click"], "k10 % 4"),
        pickSql(CUSTOMER_EVENT_TYPES, "et", ctx.enums && !hasBad),
      ),
    ],
    ["properties", bad(3, `left(${properties}, 9)`, properties)],
    ["ts", bad(0, pickSql(["2025-13-45T25:61:00Z", "not a date", "", "1700000000"], "k10 % 4"), ts)],
  ];
  const select = columns.map(([name, expr], k) => `${withMissingSql(plan, name, expr, k)} AS "${name}"`);
  return `WITH
frame AS (${frameSql(plan, ctx.positions)}),
placed AS (
  SELECT _i, src,
    ${msAtSql(plan, tauSql(plan, 51))} AS created_ms,
    ${latenessMsSql(plan)} AS late_ms,
    ${invalidKindSql(plan, 5)} AS bad,
    (${hashSql("src", s, 3)} % 10)::INTEGER AS k10,
    least(${plan.users - 1}, floor(${plan.users} * ${u(2)} * ${u(2)}))::BIGINT AS uid,
    ${weightedIndexSql(u(4), [45, 20, 10, 10, 5, 4, 4, 2])} AS et
  FROM frame
),
timed AS (
  SELECT *, ${zone} AS zone,
    CASE WHEN bad = 2 THEN ${plan.anchorMs + 3650 * 86_400_000} + created_ms % 86400000 ELSE created_ms - late_ms END AS ts_ms
  FROM placed
)
SELECT ${select.join(",\n  ")}, _i
FROM timed`;
}
