/*
 * Interrupted time series (segmented regression), per user:
 * the level and slope of a daily metric (mean score of the day's scored
 * events) in the baseline phase (baseline_A_1) and in the intervention phase
 * that follows it (intervention_B_1). Levels are taken AT the interruption
 * (the user's first intervention day, t0): level_change is the immediate
 * effect of the intervention, slope_change the change in trend per day.
 *   npx sluice query -c examples/behavioral-events/sluice.yaml "$(cat examples/behavioral-events/queries/its.sql)"
 */
WITH daily AS (
  -- Days are UTC day numbers: integer arithmetic, no time zone work per row.
  SELECT
    "userId",
    "experimentPhase" = 'intervention_B_1' AS post,
    epoch_ms("timestamp") // 86400000 AS day,
    avg(score) AS metric
  FROM research.behavioral_events
  WHERE "experimentPhase" IN ('baseline_A_1', 'intervention_B_1')
    AND score IS NOT NULL
  GROUP BY ALL
),
fit AS (
  -- regr_intercept is the level at day 0; shifted to t0 with the slope below.
  SELECT
    "userId",
    min(day) FILTER (WHERE post) AS t0,
    count(*) FILTER (WHERE NOT post) AS pre_days,
    count(*) FILTER (WHERE post) AS post_days,
    regr_intercept(metric, day) FILTER (WHERE NOT post) AS pre_b0,
    regr_slope(metric, day) FILTER (WHERE NOT post) AS pre_slope,
    regr_intercept(metric, day) FILTER (WHERE post) AS post_b0,
    regr_slope(metric, day) FILTER (WHERE post) AS post_slope
  FROM daily
  GROUP BY "userId"
)
SELECT
  "userId",
  to_timestamp(t0 * 86400)::DATE AS change_day,
  pre_days,
  post_days,
  round(pre_b0 + pre_slope * t0, 4) AS pre_level,
  round(pre_slope, 5) AS pre_slope,
  round(post_b0 + post_slope * t0, 4) AS post_level,
  round(post_slope, 5) AS post_slope,
  round((post_b0 + post_slope * t0) - (pre_b0 + pre_slope * t0), 4) AS level_change,
  round(post_slope - pre_slope, 5) AS slope_change
FROM fit
WHERE pre_days >= 3 AND post_days >= 3     -- a line needs a few days on each side
ORDER BY pre_days + post_days DESC, "userId";
