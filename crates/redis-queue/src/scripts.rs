//! The Lua scripts. Each one runs atomically and touches only keys of one shard (one hash slot with
//! the cluster layout); keys derived from a channel ID inside a script share the shard's base, so
//! they hash like the declared keys.

use std::sync::LazyLock;

use redis::Script;

/// Helpers shared by several scripts.
const COMMON: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function notify(ch)
  if ch ~= '' then redis.call('PUBLISH', ch, '1') end
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

-- Takes ownership of channel c and returns its next entry {c, id, channel_id, body, token, attempt},
-- or nil when it is owned elsewhere or has nothing to deliver. Poison entries are dead-lettered.
local function take(base, c, group, consumer, now, lease, maxdel)
  local skey = base .. ':stream:' .. c
  local ckey = base .. ':chan:' .. c
  local st = redis.call('HMGET', ckey, 'owner', 'deadline', 'id', 'fails', 'token')
  local cur_id = st[3]
  local cur_fails = tonumber(st[4] or '0')
  if st[1] then
    if tonumber(st[2] or '0') > now then return nil end
    -- the previous holder's lease ran out: that delivery failed
    redis.call('HDEL', ckey, 'owner', 'deadline')
    redis.call('ZREM', base .. ':leases', c)
    if cur_id then
      cur_fails = cur_fails + 1
      redis.call('HSET', ckey, 'fails', cur_fails)
    end
  end
  for _ = 1, 50 do
    local p = redis.pcall('XPENDING', skey, group, '-', '+', 1)
    if type(p) == 'table' and p.err then
      if redis.call('EXISTS', skey) == 0 then
        -- deleted elsewhere: forget it
        redis.call('HDEL', ckey, 'id', 'fails')
        redis.call('SREM', base .. ':streams', skey)
        redis.call('ZREM', base .. ':stream-activity', skey)
        return nil
      end
      redis.pcall('XGROUP', 'CREATE', skey, group, '0')
      p = redis.call('XPENDING', skey, group, '-', '+', 1)
    end
    local id, fields
    if #p > 0 then
      id = p[1][1]
      local cl = redis.call('XCLAIM', skey, group, consumer, 0, id)
      if #cl > 0 and type(cl[1]) == 'table' and type(cl[1][2]) == 'table' then
        fields = cl[1][2]
      else
        redis.call('XACK', skey, group, id)
      end
    else
      local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', skey, '>')
      if not r then
        -- nothing unread and nothing pending: what is left was acknowledged
        if redis.call('XLEN', skey) > 0 then redis.call('XTRIM', skey, 'MAXLEN', 0) end
        redis.call('HDEL', ckey, 'id', 'fails')
        return nil
      end
      id = r[1][2][1][1]
      fields = r[1][2][1][2]
    end
    if fields then
      local cid = field(fields, 'channel_id')
      if not cid or cid == '' then cid = c end
      local body = field(fields, 'body')
      local fails = 0
      if cur_id == id then fails = cur_fails end
      local reason = nil
      if not body or body == '' then
        reason = 'entry has no body'
      elseif fails > maxdel then
        reason = 'delivery failed ' .. fails .. ' times'
      end
      if reason then
        redis.call('XADD', base .. ':dead-letter', 'MAXLEN', '~', 100000, '*', 'channel_id', cid,
          'body', body or '', 'reason', reason, 'stream', skey, 'message_id', id)
        redis.call('XACK', skey, group, id)
        redis.call('XDEL', skey, id)
        redis.call('HDEL', ckey, 'id', 'fails')
        cur_id = nil
      else
        local token = tonumber(st[5] or '0') + 1
        redis.call('HSET', ckey, 'owner', consumer, 'deadline', now + lease, 'id', id, 'fails', fails,
          'token', token)
        redis.call('ZADD', base .. ':leases', now + lease, c)
        return {c, id, cid, body, token, fails + 1}
      end
    end
  end
  -- many poison entries in a row: continue later
  redis.call('ZADD', base .. ':ready', 'NX', now, c)
  return nil
end

-- Whether the caller still owns channel c with this entry and fencing token.
local function owns(ckey, consumer, id, token)
  local st = redis.call('HMGET', ckey, 'owner', 'token', 'id')
  return st[1] == consumer and st[2] == token and st[3] == id
end

-- Appends one message; {0, id, woke} when added (woke = 1 when the channel became ready),
-- {1, backlog} when the channel is full.
local function send(base, c, body, group, maxlen, now)
  local skey = base .. ':stream:' .. c
  local len = redis.call('XLEN', skey)
  if len >= maxlen then return {1, len} end
  local fresh = len == 0 and redis.call('EXISTS', skey) == 0
  local id = redis.call('XADD', skey, '*', 'channel_id', c, 'body', body)
  if fresh then redis.pcall('XGROUP', 'CREATE', skey, group, '0') end
  -- a stream with entries is already indexed (the scan only drops missing streams)
  if len == 0 then redis.call('SADD', base .. ':streams', skey) end
  redis.call('ZADD', base .. ':stream-activity', math.floor(now / 1000), skey)
  local st = redis.call('HMGET', base .. ':chan:' .. c, 'owner', 'deadline')
  local woke = 0
  if not st[1] or tonumber(st[2] or '0') <= now then
    woke = redis.call('ZADD', base .. ':ready', 'NX', now, c)
  end
  return {0, id, woke}
end

-- One send with its dedup check, protected: {0, id, woke}, {1, backlog}, {2} (duplicate) or
-- {9, error}.
local function send_one(base, c, body, group, maxlen, now, dedup_ms, dedup_key)
  local ok, r = pcall(function()
    if dedup_ms ~= '0' and redis.call('EXISTS', dedup_key) == 1 then return {2} end
    local r = send(base, c, body, group, maxlen, now)
    if r[1] == 0 and dedup_ms ~= '0' then redis.call('SET', dedup_key, r[2], 'PX', dedup_ms) end
    return r
  end)
  if ok then return r end
  if type(r) == 'table' and r.err then return {9, r.err} end
  return {9, tostring(r)}
end

-- One ack: {-1} not owned, {0, woke} done, {1, entry} done and the channel's next entry taken.
local function ack_one(base, c, id, token, chain, group, consumer, lease, maxdel, now, ready, leases)
  local skey = base .. ':stream:' .. c
  local ckey = base .. ':chan:' .. c
  if not owns(ckey, consumer, id, token) then return {-1} end
  redis.call('XACK', skey, group, id)
  redis.call('XDEL', skey, id)
  redis.call('HDEL', ckey, 'owner', 'deadline', 'id', 'fails')
  redis.call('ZREM', leases, c)
  if redis.call('XLEN', skey) > 0 then
    if chain == '1' and #redis.call('ZRANGEBYSCORE', ready, '-inf', now, 'LIMIT', 0, 1) == 0 then
      local e = take(base, c, group, consumer, now, lease, maxdel)
      if e then return {1, e} end
    elseif redis.call('ZADD', ready, 'NX', now, c) == 1 then
      return {0, 1}
    end
  end
  return {0, 0}
end

"#;

/// KEYS: ready (for routing; all keys are of this shard). ARGV: base, group, maxlen, notify, then
/// per message: channel, body, dedup window ms (`0` = no dedup), dedup key.
/// Returns one reply of `send_one` per message.
const SEND: &str = r#"
local now = now_ms()
local out = {}
local woke = false
for i = 5, #ARGV, 4 do
  local r = send_one(ARGV[1], ARGV[i], ARGV[i + 1], ARGV[2], tonumber(ARGV[3]), now, ARGV[i + 2], ARGV[i + 3])
  if r[1] == 0 and r[3] == 1 then woke = true end
  out[#out + 1] = r
end
if woke then notify(ARGV[4]) end
return out
"#;

/// KEYS: ready, leases. ARGV: base, group, consumer, lease ms, max deliveries, count, notify.
/// Returns `{wait_ms, {entry...}}`; `wait_ms` is the time until the next ready or lease deadline
/// (`-1` for none).
const CLAIM: &str = r#"
local now = now_ms()
local base = ARGV[1]
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 16)
for _, c in ipairs(expired) do
  redis.call('ZREM', KEYS[2], c)
  redis.call('ZADD', KEYS[1], 'NX', now, c)
end
local out = {}
local want = tonumber(ARGV[6])
local tries = 0
while #out < want and tries < 4 do
  tries = tries + 1
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, want - #out)
  if #due == 0 then break end
  redis.call('ZREM', KEYS[1], unpack(due))
  for _, c in ipairs(due) do
    -- A broken channel (say, a key of the wrong type) must not fail the claims of the others.
    local ok, e = pcall(take, base, c, ARGV[2], ARGV[3], now, tonumber(ARGV[4]), tonumber(ARGV[5]))
    if not ok then
      redis.log(redis.LOG_WARNING, 'sm-redis-queue: skipping channel ' .. c .. ': ' .. tostring(e))
    elseif e then
      out[#out + 1] = e
    end
  end
end
local wait = -1
local nr = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nr[2] then wait = math.max(0, tonumber(nr[2]) - now) end
local nl = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if nl[2] then
  local w = math.max(0, tonumber(nl[2]) - now)
  if wait < 0 or w < wait then wait = w end
end
return {wait, out}
"#;

/// KEYS: ready, leases. ARGV: base, group, consumer, lease ms, max deliveries, notify, then per
/// ack: channel, id, token, chain (`1`/`0`). Returns one reply of `ack_one` per ack (`{9, error}`
/// when one failed).
const ACK: &str = r#"
local now = now_ms()
local out = {}
local woke = false
for i = 7, #ARGV, 4 do
  local ok, r = pcall(ack_one, ARGV[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[2],
    ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), now, KEYS[1], KEYS[2])
  if not ok then
    if type(r) == 'table' and r.err then r = {9, r.err} else r = {9, tostring(r)} end
  elseif r[1] == 0 and r[2] == 1 then
    woke = true
  end
  out[#out + 1] = r
end
if woke then notify(ARGV[6]) end
return out
"#;

/// KEYS: ready, leases. ARGV: base, consumer, channel, id, token, delay ms, count failure
/// (`1`/`0`), notify. Returns `{-1}` (not owned) or `{0}`.
const NACK: &str = r#"
local now = now_ms()
local base, c = ARGV[1], ARGV[3]
local ckey = base .. ':chan:' .. c
if not owns(ckey, ARGV[2], ARGV[4], ARGV[5]) then return {-1} end
redis.call('HDEL', ckey, 'owner', 'deadline')
if ARGV[7] == '1' then redis.call('HINCRBY', ckey, 'fails', 1) end
redis.call('ZREM', KEYS[2], c)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[6]), c)
notify(ARGV[8])
return {0}
"#;

/// KEYS: leases. ARGV: base, consumer, channel, id, token, lease ms. Returns 1 when extended,
/// 0 when no longer owned.
const EXTEND: &str = r#"
local now = now_ms()
local ckey = ARGV[1] .. ':chan:' .. ARGV[3]
if not owns(ckey, ARGV[2], ARGV[4], ARGV[5]) then return 0 end
local d = now + tonumber(ARGV[6])
redis.call('HSET', ckey, 'deadline', d)
redis.call('ZADD', KEYS[1], d, ARGV[3])
return 1
"#;

/// KEYS: dead-letter. ARGV: base, dead-letter id, group, maxlen, notify.
/// Returns like send, or `{3}` when the dead letter does not exist, `{4}` when it has no body.
const REDRIVE: &str = r#"
local now = now_ms()
local base = ARGV[1]
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #e == 0 then return {3} end
local f = e[1][2]
local body = field(f, 'body')
if not body or body == '' then return {4} end
local skey = field(f, 'stream') or ''
local pfx = base .. ':stream:'
local c
if skey:sub(1, #pfx) == pfx then c = skey:sub(#pfx + 1) else c = field(f, 'channel_id') end
local r = send(base, c, body, ARGV[3], tonumber(ARGV[4]), now)
if r[1] == 0 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  if r[3] == 1 then notify(ARGV[5]) end
end
return r
"#;

/// KEYS: index, ready, scan-leader. ARGV: base, group, cursor (`0` = start when it is this
/// consumer's turn, `start` = start regardless), count, consumer, leader ms,
/// consumer idle ms, inactivity seconds (`0` = off), notify.
/// Returns `{next cursor, readied, deleted}`, or `{'-', 0, 0}` when another consumer scans.
const SCAN: &str = r#"
local now = now_ms()
local base = ARGV[1]
local cursor = ARGV[3]
if cursor == '0' then
  if not redis.call('SET', KEYS[3], ARGV[5], 'NX', 'PX', ARGV[6]) then return {'-', 0, 0} end
elseif cursor == 'start' then
  cursor = '0'
end
local r = redis.call('SSCAN', KEYS[1], cursor, 'COUNT', ARGV[4])
local pfx = base .. ':stream:'
local activity = base .. ':stream-activity'
local readied, deleted = 0, 0
local function visit(skey)
  local c = skey:sub(#pfx + 1)
  local ckey = base .. ':chan:' .. c
  local st = redis.call('HMGET', ckey, 'owner', 'deadline')
  local owned = st[1] and tonumber(st[2] or '0') > now
  if redis.call('EXISTS', skey) == 0 then
    if not owned then
      redis.call('SREM', KEYS[1], skey)
      redis.call('ZREM', activity, skey)
      redis.call('ZREM', KEYS[2], c)
      redis.call('DEL', ckey)
      deleted = deleted + 1
    end
  else
    local cons = redis.pcall('XINFO', 'CONSUMERS', skey, ARGV[2])
    if type(cons) == 'table' and cons.err then
      redis.pcall('XGROUP', 'CREATE', skey, ARGV[2], '0')
      cons = {}
    end
    for _, ci in ipairs(cons) do
      local idle = tonumber(field(ci, 'idle') or 0)
      local pending = tonumber(field(ci, 'pending') or 0)
      if idle > tonumber(ARGV[7]) and pending == 0 then
        redis.call('XGROUP', 'DELCONSUMER', skey, ARGV[2], field(ci, 'name'))
      end
    end
    if redis.call('XLEN', skey) > 0 then
      if not owned and redis.call('ZADD', KEYS[2], 'NX', now, c) == 1 then readied = readied + 1 end
    elseif not owned and ARGV[8] ~= '0' then
      local score = redis.call('ZSCORE', activity, skey)
      if not score or tonumber(score) <= math.floor(now / 1000) - tonumber(ARGV[8]) then
        redis.call('DEL', skey, ckey)
        redis.call('SREM', KEYS[1], skey)
        redis.call('ZREM', activity, skey)
        redis.call('ZREM', KEYS[2], c)
        deleted = deleted + 1
      end
    end
  end
end
for _, skey in ipairs(r[2]) do
  if skey:sub(1, #pfx) == pfx then
    -- One broken stream must not stop the scan of the others.
    local ok, err = pcall(visit, skey)
    if not ok then
      redis.log(redis.LOG_WARNING, 'sm-redis-queue: scan skipped ' .. skey .. ': ' .. tostring(err))
    end
  end
end
if readied > 0 then notify(ARGV[9]) end
return {r[1], readied, deleted}
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

pub(crate) static SEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(SEND));
pub(crate) static CLAIM_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(CLAIM));
pub(crate) static ACK_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(ACK));
pub(crate) static NACK_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(NACK));
pub(crate) static EXTEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(EXTEND));
pub(crate) static REDRIVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(REDRIVE));
pub(crate) static SCAN_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(SCAN));
