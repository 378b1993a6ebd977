-- Releases a channel lock if, and only if, the caller still owns it (compare-and-delete), and
-- tells waiting obtainers about it.
--
-- KEYS[1]  lock key
-- ARGV[1]  owner token
-- ARGV[2]  Pub/Sub channel on which waiters of this lock listen
--
-- Returns 1 when the lock was deleted, 0 when it had expired or belongs to another owner
-- (nothing is touched then).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], KEYS[1])
  return 1
end
return 0
