/**
 * The Lua the Redis limiters run, as functions, so the one-limit scripts (`RedisRateLimiter`,
 * `RedisWindowLimiter`) and the all-limits-of-a-request script (`RedisRequestLimiter`) run the
 * same algorithm. What each returns is documented with the script that uses it alone.
 */

/**
 * GCRA on one bucket: `gcra(key, interval_ms, burst, cost, eps_ms, now_ms)` returns
 * `allowed (1|0), ms until full, ms until allowed ("0" when allowed)`, the durations as strings.
 */
export const GCRA_FUNCTION = `
local function gcra(key, interval, burst, cost, eps, now)
  local tat = now
  local stored = tonumber(redis.call('GET', key) or '')
  if stored and stored > now then tat = stored end

  if cost > burst then
    return 0, string.format('%.17g', tat - now), '0'
  end
  local new_tat = tat + cost * interval
  local until_allowed = new_tat - burst * interval - now
  if until_allowed > eps then
    return 0, string.format('%.17g', tat - now), string.format('%.17g', until_allowed)
  end
  if cost > 0 then
    -- Expire exactly when the bucket is full again: from then on the key carries no state.
    redis.call('SET', key, string.format('%.17g', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
  end
  return 1, string.format('%.17g', new_tat - now), '0'
end
`;

/**
 * A sliding-window hit on one log: `window_hit(key, limit, window_us, now_us)` returns
 * `allowed (1|0), admissions in the window after the decision, µs until free (0 when allowed)`.
 */
export const WINDOW_FUNCTION = `
local window_next = 0
local function window_hit(key, limit, window, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - window))
  local count = redis.call('ZCARD', key)

  if count < limit then
    -- Members must be unique, and admissions at one microsecond share a score. The hits of one
    -- script run share its clock: each takes the next number of the run, so a run of n hits
    -- looks up n names, not n²/2; an earlier run's admission at that microsecond is stepped over.
    local score = string.format('%.0f', now)
    local n = window_next
    local member = n == 0 and score or score .. '-' .. n
    while redis.call('ZSCORE', key, member) do
      n = n + 1
      member = score .. '-' .. n
    end
    window_next = n + 1
    redis.call('ZADD', key, score, member)
    redis.call('PEXPIREAT', key, string.format('%.0f', math.ceil((now + window) / 1000)))
    return 1, count + 1, 0
  end

  local nth = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  return 0, count, tonumber(nth[2]) + window - now
end
`;

/** Redis `TIME` in milliseconds (fractional) and in whole microseconds. */
export const CLOCK = `
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])
`;
