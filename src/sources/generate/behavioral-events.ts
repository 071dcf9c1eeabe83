import type { Dataset, DatasetSqlContext } from "./dataset.js";
import { dimensionCuids, randomDigits } from "./dimension-ids.js";
import type { GenerationPlan } from "./generation-plan.js";
import {
  frameSql,
  invalidKindSql,
  isCopySql,
  latenessMsSql,
  msAtSql,
  tauSql,
  timestampSql,
  withMissingSql,
} from "./row-frame.js";
import { BASE36, hashSql, pickSql, unitSql, weightedIndexSql } from "./sql-random.js";

/** The eventType enum; the SQL works with the 0-based index into this list. */
export const EVENT_TYPES = [
  "lesson_started",
  "lesson_completed",
  "quiz_answered",
  "card_reviewed",
  "session_started",
  "session_ended",
  "hint_requested",
  "feedback_given",
] as const;

export const EXPERIMENT_PHASES = ["baseline_A_1", "intervention_B_1", "baseline_A_2", "intervention_B_2"] as const;

export const DEVICE_TYPES = ["web", "ios", "android", "tablet"] as const;

const [LESSON_STARTED, LESSON_COMPLETED, QUIZ_ANSWERED, CARD_REVIEWED, SESSION_STARTED, SESSION_ENDED, HINT_REQUESTED] =
  [0, 1, 2, 3, 4, 5, 6];
/** Mean durationMs per event type (exponential), in EVENT_TYPES order. */
const MEAN_DURATION_MS = [1500, 480000, 18000, 7000, 800, 1200000, 3000, 12000];
const LESSONS = 240;
const RANDOM_SUFFIXES = 997;
const CARDS_PER_LESSON = 12;
/** Positions are cut into blocks of this many rows, each holding two sessions (12 events on average). */
const BLOCK = 24;
const RATINGS = ["again", "hard", "good", "good", "good", "good", "easy", "easy", "hard", "good"];
const RATING_SCORES = [0.0, 0.4, 0.8, 0.8, 0.8, 0.8, 1.0, 1.0, 0.4, 0.8];

/**
 * S1: learner behavior as the PostgreSQL `"BehavioralEvent"` table holds it.
 *
 * Rows are in time order over the window (a daily cycle peaking at 14:00
 * UTC, growth over the window). Events come in sessions of one user on one
 * lesson (session_started, lesson_started, reviews, quizzes, hints ...,
 * session_ended; about 12 events); users are skewed (a few very active).
 * experimentPhase is the quarter of the window the event falls in (A1, B1,
 * A2, B2; NULL for the 5 % of users not enrolled), and the B phases raise quiz
 * accuracy, lesson scores and session completion, so an ABAB analysis finds
 * an effect. Ids of one session share its prefix and differ in the last
 * digit: cuid-shaped, unique, and cheap to make and to compress.
 */
export const behavioralEvents: Dataset = {
  name: "behavioral_events",
  description: 'S1 learner events, the 15 camelCase columns of PostgreSQL "BehavioralEvent"',
  key: "id",
  timeColumn: "timestamp",
  columns: [
    { name: "id", type: "VARCHAR", description: "cuid (c + 24 of [a-z0-9]), unique" },
    { name: "userId", type: "VARCHAR", description: "cuid of the user; activity is skewed" },
    { name: "sessionId", type: "VARCHAR", description: "cuid of the session (about 12 events of one user)" },
    { name: "eventType", type: "VARCHAR", description: "one of the 8 event types", values: EVENT_TYPES },
    { name: "eventData", type: "JSON", description: "small JSON object depending on eventType" },
    {
      name: "timestamp",
      type: "TIMESTAMP WITH TIME ZONE",
      description: "event time (ms) in the window, never after the anchor",
    },
    {
      name: "experimentPhase",
      type: "VARCHAR",
      description: "phase by quarter of the window; NULL for the 5 % of users not enrolled",
      values: EXPERIMENT_PHASES,
    },
    { name: "lessonId", type: "VARCHAR", description: "cuid of one of 240 lessons (skewed to early ones)" },
    {
      name: "cardId",
      type: "VARCHAR",
      description: "cuid of one of 12 cards of the lesson for card_reviewed, quiz_answered, hint_requested; else NULL",
    },
    { name: "durationMs", type: "BIGINT", description: "0..86400000, exponential with a mean per event type" },
    {
      name: "score",
      type: "DOUBLE",
      description: "0..1 for quiz_answered, card_reviewed, lesson_completed; else NULL",
    },
    { name: "completed", type: "BOOLEAN", description: "whether the activity was completed" },
    { name: "deviceType", type: "VARCHAR", description: "the user's device", values: DEVICE_TYPES },
    {
      name: "createdAt",
      type: "TIMESTAMP WITH TIME ZONE",
      description: "when the row was written: timestamp, or later for late (out-of-order) events",
    },
    {
      name: "updatedAt",
      type: "TIMESTAMP WITH TIME ZONE",
      description: ">= createdAt; later for 0.3 % edited rows and for half the injected duplicates",
    },
  ],
  invalidKinds: [
    "eventType outside the enum",
    "negative durationMs",
    "timestamp ten years after the anchor (in the future)",
    "id not cuid-shaped",
    "score above 1",
  ],
  sql: behavioralEventsSql,
};

function behavioralEventsSql(plan: GenerationPlan, ctx: DatasetSqlContext): string {
  const s = plan.seed;
  const n = Math.max(plan.rows, 1);
  const start = plan.anchorMs - plan.spanMs;
  const hasBad = plan.chaos.invalidRate > 0;
  const u = (salt: number, of = "src") => unitSql(hashSql(of, s, salt));
  // Content (lessons, cards) was authored a year before the window, on one server.
  const contentMs = start - 365 * 86_400_000;
  const contentFp = 1_200_000;
  const lessonIds = dimensionCuids(s, 23, LESSONS, (k) => contentMs + k * 60_000, contentFp);
  const cardIds = dimensionCuids(
    s,
    24,
    LESSONS * CARDS_PER_LESSON,
    (k) => contentMs + Math.floor(k / CARDS_PER_LESSON) * 60_000 + (k % CARDS_PER_LESSON) * 7 + 1,
    contentFp,
    LESSONS,
  );

  const json = (values: string[]) => `([${values.map((v) => `'${v}'`).join(", ")}]::JSON[])`;
  // eventData variants: 10 per event type (indexed by k10), then 8 for quiz answers (answer x correct).
  const variants = (xs: string[]) => Array.from({ length: 10 }, (_, k) => xs[k % xs.length]!);
  const eventData = json([
    ...variants(["home", "search", "recommendation", "streak", "home"].map((x) => `{"source":"${x}"}`)),
    ...variants(["1", "2", "2", "3", "3"].map((x) => `{"stars":${x}}`)),
    ...variants(["a", "b", "c", "d"].map((a) => `{"answer":"${a}","correct":true}`)), // unused: see below
    ...RATINGS.map((r) => `{"rating":"${r}"}`),
    ...variants(["2.4.0", "2.4.1", "2.5.0", "2.5.0", "2.5.1"].map((v) => `{"appVersion":"${v}"}`)),
    ...variants(["idle", "logout", "closed", "closed", "closed"].map((x) => `{"reason":"${x}"}`)),
    ...variants(["1", "1", "2", "3", "1"].map((x) => `{"hintLevel":${x}}`)),
    ...variants(["1", "2", "3", "4", "5"].map((x) => `{"rating":${x},"channel":"in_app"}`)),
    ...["false", "true"].flatMap((c) => ["a", "b", "c", "d"].map((a) => `{"answer":"${a}","correct":${c}}`)),
  ]);
  const eventDataIndex = `CASE WHEN et = ${QUIZ_ANSWERED} THEN 80 + correct::INTEGER * 4 + k10 % 4 ELSE et * 10 + k10 END`;
  const duration = `least(86400000, floor([${MEAN_DURATION_MS.join(", ")}][et + 1] * -ln(1 - ${u(16)})))::BIGINT`;
  const score = `CASE et
    WHEN ${CARD_REVIEWED} THEN [${RATING_SCORES.join(", ")}][k10 + 1]
    WHEN ${QUIZ_ANSWERED} THEN correct::INTEGER::DOUBLE
    WHEN ${LESSON_COMPLETED} THEN round(least(1.0, 0.45 + 0.45 * sqrt(${u(17)}) + 0.06 * is_b), 2)
    END::DOUBLE`;
  const completed = `CASE WHEN et = ${SESSION_ENDED} THEN ${u(18)} < 0.55 + 0.12 * is_b
    ELSE et NOT IN (${LESSON_STARTED}, ${SESSION_STARTED}, ${HINT_REQUESTED}) END`;
  // Half the copies are a later version of their record (merge keeps those); a few rows were edited.
  const updatedMs = `created_ms + CASE
    WHEN ${isCopySql()} AND ${hashSql("_i", s, 19)} % 2 = 0 THEN 1000 * (_i - src) + 1
    WHEN ${u(20)} < 0.003 THEN 1000 + (${u(21)} * 7200000)::BIGINT ELSE 0 END`;

  const bad = (kind: number, broken: string, good: string) =>
    hasBad ? `CASE WHEN bad = ${kind} THEN ${broken} ELSE ${good} END` : good;
  const positionDigit = pickSql([...BASE36.slice(0, BLOCK)], "pos");
  const eventType = pickSql(EVENT_TYPES, "et", ctx.enums && !hasBad);
  const columns: [string, string][] = [
    ["id", bad(3, `concat('EVT', substr(sid_prefix, 2), ${positionDigit})`, `concat(sid_prefix, ${positionDigit})`)],
    ["userId", "uid_str"],
    [
      "sessionId",
      `concat(sid_prefix, ${pickSql([...BASE36.slice(BLOCK)], `(${hashSql("sess", s, 9)} % ${36 - BLOCK})::INTEGER`)})`,
    ],
    [
      "eventType",
      bad(0, pickSql(["lesson_finished", "LESSON_STARTED", "quiz_submitted", "unknown"], "k10 % 4"), eventType),
    ],
    ["eventData", `${eventData}[${eventDataIndex} + 1]`],
    ["timestamp", timestampSql("ts_ms")],
    ["experimentPhase", `CASE WHEN enrolled THEN ${pickSql(EXPERIMENT_PHASES, "phase", ctx.enums)} END`],
    ["lessonId", pickSql(lessonIds, "sess_lesson", ctx.enums)],
    ["cardId", pickSql(cardIds, "card", ctx.enums)],
    ["durationMs", bad(1, `-1 - ${duration}`, duration)],
    ["score", bad(4, `1.01 + round(${u(22)}, 2)`, score)],
    ["completed", completed],
    ["deviceType", pickSql(DEVICE_TYPES, weightedIndexSql(u(14, "uid"), [45, 30, 21, 4]), ctx.enums)],
    ["createdAt", timestampSql("created_ms")],
    ["updatedAt", timestampSql(updatedMs)],
  ];
  const select = columns.map(([name, expr], k) => `${withMissingSql(plan, name, expr, k)} AS "${name}"`);
  // A session's ids share its 24-character prefix: 'c', 8 digits of the
  // session's nominal start ms (its first position's share of the window), 4 of
  // the session number (these 13 are unique per session), then 11 random digits
  // from a list of 997 (cheaper per row than a second base-36 conversion). An
  // event id ends in its position in the session (0..n), the session id in o..z.
  const sessionMs = `${start} + (first_pos * ${plan.spanMs / n})::BIGINT`;
  const sessionPrefix = `concat('c', lower(to_base((${sessionMs}) % ${36n ** 8n} * 1679616 + sess % 1679616, 36, 12)), ${pickSql(
    randomDigits(s, 8, RANDOM_SUFFIXES, 11),
    `(${hashSql("sess", s, 8)} % ${RANDOM_SUFFIXES})::INTEGER`,
  )})`;
  // A user id: signup time (within two years before the window) and counter
  // (unique per user), then 12 random digits from a list of 997.
  const signupMs = `${start} - (${u(11, "uid")} * 63072000000)::BIGINT`;
  const userIdSql = `concat('c', lower(to_base((${signupMs}) % ${36n ** 8n} * 1679616 + uid % 1679616, 36, 12)), ${pickSql(
    randomDigits(s, 12, RANDOM_SUFFIXES, 12),
    `(uid % ${RANDOM_SUFFIXES})::INTEGER`,
  )})`;
  const phaseOf = (ms: string) => `least(3, greatest(0, ((${ms} - ${start}) * 4) // ${plan.spanMs}))::INTEGER`;
  const middleEvent = weightedIndexSql(u(2), [3, 9, 26, 38, 0, 0, 12, 7]);

  return `WITH
frame AS (${frameSql(plan, ctx.positions)}),
placed AS (
  SELECT _i, src, src // ${BLOCK} AS blk, (src % ${BLOCK})::INTEGER AS off,
    (${hashSql(`src // ${BLOCK}`, s, 4)} % ${BLOCK})::INTEGER AS cut,
    ${msAtSql(plan, tauSql(plan, 1))} AS created_ms,
    ${latenessMsSql(plan)} AS late_ms,
    ${invalidKindSql(plan, 5)} AS bad,
    (${hashSql("src", s, 3)} % 10)::INTEGER AS k10
  FROM frame
),
sessioned AS (
  SELECT *,
    2 * blk + (off >= cut)::BIGINT AS sess,
    CASE WHEN off >= cut THEN off - cut ELSE off END AS pos,
    ${BLOCK} * blk + CASE WHEN off >= cut THEN cut ELSE 0 END AS first_pos,
    CASE WHEN bad = 2 THEN ${plan.anchorMs + 3650 * 86_400_000} + created_ms % 86400000 ELSE created_ms - late_ms END AS ts_ms
  FROM placed
),
typed AS (
  SELECT *,
    least(${plan.users - 1}, floor(${plan.users} * ${u(6, "sess")} * ${u(6, "sess")}))::BIGINT AS uid,
    least(${LESSONS - 1}, floor(${LESSONS} * ${u(7, "sess")} * ${u(7, "sess")}))::BIGINT AS sess_lesson,
    CASE WHEN pos = 0 THEN ${SESSION_STARTED}
      WHEN off = ${BLOCK - 1} OR off = cut - 1 OR src = ${n - 1} THEN ${SESSION_ENDED}
      WHEN pos = 1 THEN ${LESSON_STARTED}
      ELSE ${middleEvent} END AS et,
    ${phaseOf("ts_ms")} AS phase
  FROM sessioned
),
enriched AS (
  SELECT *,
    phase % 2 AS is_b,
    ${u(5)} < 0.66 + 0.08 * (phase % 2) AS correct,
    ${u(15, "uid")} >= 0.05 AS enrolled,
    CASE WHEN et IN (${CARD_REVIEWED}, ${QUIZ_ANSWERED}, ${HINT_REQUESTED})
      THEN sess_lesson * ${CARDS_PER_LESSON} + (${hashSql("src", s, 25)} % ${CARDS_PER_LESSON})::BIGINT END AS card,
    ${userIdSql} AS uid_str,
    ${sessionPrefix} AS sid_prefix
  FROM typed
)
SELECT ${select.join(",\n  ")}, _i
FROM enriched`;
}
