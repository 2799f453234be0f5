/**
 * The Lua of `RedisRequestLimiter`'s script (`requestLua`), one function per algorithm: the same
 * admission rules as the in-process `GcraBuckets` and `WindowLogs`.
 *
 * Both read Redis `TIME` and then write, which is only allowed because Redis replicates a
 * script's *effects* (the writes with their already computed values), never the script itself:
 * the default since Redis 5 and the only mode since Redis 7, so replicas and AOF replay never
 * re-read the clock. (On Redis 3.2/4 the script would need `redis.replicate_commands()` first; we
 * require Redis >= 5.)
 */

/**
 * GCRA on one bucket: `gcra(key, interval_ms, burst, cost, eps_ms, now_ms)` returns
 * `allowed (1|0), ms until full, ms until allowed ("0" when allowed)`, the durations as strings
 * because Redis truncates Lua numbers in replies to integers.
 *
 * The key holds the bucket's TAT, with a TTL equal to its time until full, after which it holds
 * no information (so Redis needs no sweeping). The TAT is stored with %.17g so it round-trips
 * exactly; Lua's tostring keeps only 14 digits, which would drift a saturated key by up to
 * 0.01 ms per request.
 *
 * One script run decides many requests at one Redis time, often on the same key (a tenant's
 * bucket): the key is read once per run and written once, by `flush_limits()` at the end of the
 * run, with the TAT and TTL its last admission left (performance: a run of 10 requests on one
 * bucket made 20 calls, now 2). Nothing else runs between, so the result is the same.
 */
export const GCRA_FUNCTION = `
local gcra_tats = {}
local gcra_written = {}
local function gcra(key, interval, burst, cost, eps, now)
  local stored = gcra_tats[key]
  if stored == nil then
    stored = tonumber(redis.call('GET', key) or '') or false
    gcra_tats[key] = stored
  end
  local tat = now
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
    gcra_tats[key] = new_tat
    gcra_written[key] = true
  end
  return 1, string.format('%.17g', new_tat - now), '0'
end
`;

/**
 * A sliding-window hit on one log: `window_hit(key, limit, window_us, now_us)` returns
 * `allowed (1|0), admissions in the window after the decision, µs until free (0 when allowed)`,
 * all integers.
 *
 * The log is a sorted set of the admissions still in the window (score: Redis `TIME` in whole
 * microseconds).
 * - Admissions at or before `now - window` have left the window: pruned first.
 * - Members are unique per admission: the score's digits, plus `-n` if an admission already holds
 *   that name (two admissions in the same microsecond, or Redis time stepped back), so no
 *   admission ever overwrites another.
 * - Denied with `count > limit` (the limit was lowered): the wait is until the
 *   `(count - limit + 1)`th oldest leaves, which brings the count below the limit.
 * - The key expires at the first whole millisecond at or after its newest admission leaves the
 *   window (PEXPIREAT on Redis time: Redis expires keys in ms, and an expiry rounded down would
 *   drop an admission still in the window).
 * - Numbers passed to `redis.call` are formatted with `%.0f`: Lua's default number-to-string
 *   keeps 14 digits, and microsecond times have 16.
 *
 * Within one script run (one Redis time) a log is pruned and counted once, its count then kept by
 * the run, and its admissions written together by `window_write` at the run's end (one
 * `ZADD NX` for all of them) with its expiry (performance: a run of 10 requests on one log made
 * 50 calls, now 4). A hit with another window length on the same key (a policy changed between
 * two requests of the run) writes the run's admissions so far, then prunes and counts again.
 */
export const WINDOW_FUNCTION = `
local window_next = 0
local window_logs = {}
local function window_write(key, log)
  local pending = log.pending
  if #pending == 0 then return end
  local args = {}
  for _, member in ipairs(pending) do
    args[#args + 1] = log.score
    args[#args + 1] = member
  end
  -- The names of the run are its own; one an earlier run took (Redis time stepped back, or the
  -- same microsecond) is not added: each such admission gets the next free name instead.
  local missing = #pending - redis.call('ZADD', key, 'NX', unpack(args))
  while missing > 0 do
    local member = log.score .. '-' .. window_next
    window_next = window_next + 1
    if redis.call('ZADD', key, 'NX', log.score, member) == 1 then missing = missing - 1 end
  end
  log.pending = {}
end
local function window_hit(key, limit, window, now)
  local log = window_logs[key]
  if log == nil or log.window ~= window then
    if log ~= nil then window_write(key, log) end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - window))
    log = { window = window, count = redis.call('ZCARD', key), score = string.format('%.0f', now), pending = {}, expire_at = log and log.expire_at }
    window_logs[key] = log
  end
  local count = log.count

  if count < limit then
    -- Each hit of the run takes the next number of the run: unique names within it.
    local n = window_next
    window_next = n + 1
    log.pending[#log.pending + 1] = n == 0 and log.score or log.score .. '-' .. n
    log.count = count + 1
    log.expire_at = string.format('%.0f', math.ceil((now + window) / 1000))
    return 1, count + 1, 0
  end

  -- The (count - limit + 1)th oldest; the run's own admissions, at now, are the newest.
  local index = count - limit
  if index >= count - #log.pending then return 0, count, window end
  local nth = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
  return 0, count, tonumber(nth[2]) + window - now
end
`;

/**
 * The writes a script run kept for its end (see `gcra` and `window_hit`): each bucket's last TAT
 * with its TTL, each log's admissions and expiry. Called once, after the run's last decision.
 */
export const FLUSH_FUNCTION = `
local function flush_limits(now_ms)
  for key in pairs(gcra_written) do
    local tat = gcra_tats[key]
    -- Expire exactly when the bucket is full again: from then on the key carries no state.
    redis.call('SET', key, string.format('%.17g', tat), 'PX', math.max(1, math.ceil(tat - now_ms)))
  end
  for key, log in pairs(window_logs) do
    window_write(key, log)
    if log.expire_at then redis.call('PEXPIREAT', key, log.expire_at) end
  end
end
`;

/** Redis `TIME` in milliseconds (fractional) and in whole microseconds. */
export const CLOCK = `
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])
`;
