-- Extends a channel lock's expiry if, and only if, the caller still owns it.
--
-- KEYS[1]  lock key
-- ARGV[1]  owner token
-- ARGV[2]  new TTL in whole milliseconds (>= 1), counted from now
--
-- Returns 1 when extended, 0 when the lock expired or belongs to another owner.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
