-- Holds calls to one Slack method: sets KEYS[1] to expire in ARGV[1] ms, unless it already expires later.
local current = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[1])
if current < wanted then
  redis.call('SET', KEYS[1], '1', 'PX', wanted)
end
return redis.call('PTTL', KEYS[1])
