-- Obtains a channel lock and issues its fencing token, atomically.
--
-- KEYS[1]  lock key (a plain string holding the owner token; compatible with bsm/redislock)
-- KEYS[2]  fencing counter key (same hash slot as KEYS[1]; never expires)
-- ARGV[1]  owner token (random, unique per obtain)
-- ARGV[2]  TTL in whole milliseconds (>= 1)
--
-- Returns {1, fencing token} when obtained, or {0, remaining TTL of the current holder in ms}
-- (-1 when the holder's key has no expiry) when the lock is held by someone else.
--
-- A missing counter (first obtain of this lock, or the counter was evicted or deleted) starts at
-- the server time in microseconds, so tokens keep increasing even across the loss of the counter:
-- every earlier token is at most its own seed time plus the number of obtains since, and obtains
-- of one lock are far more than a microsecond apart.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  if token == 1 then
    -- Built as a string: Lua would print a number this large in exponent notation.
    local now = redis.call('TIME')
    redis.call('SET', KEYS[2], now[1] .. string.format('%06d', tonumber(now[2])))
    token = redis.call('INCR', KEYS[2])
  end
  return {1, token}
end
return {0, redis.call('PTTL', KEYS[1])}
