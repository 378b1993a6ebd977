//! The Lua scripts. Each one runs atomically and touches only keys of one shard (one hash slot with
//! the cluster layout); keys derived from a channel ID inside a script share the shard's base, so
//! they hash like the declared keys.

use std::sync::LazyLock;

use redis::Script;

/// Helpers shared by several scripts.
///
/// Every `redis.call` inside a script costs a few microseconds of server time on top of the
/// command itself, which dominates the queue's cost; the scripts are written to make as few calls
/// per message as they can: one schedule set instead of separate ready and lease sets, the states
/// of all channels of a call read and written with one call each, per-channel work done once per
/// call, schedule updates of a whole call in one `ZADD`/`ZREM`, and no per-message `XACK`.
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

-- The state of a channel is one string, "<token> <v><p> <fails> <id> <owner>", kept in the
-- shard's hash B:state (field: channel):
--   token  fencing token, incremented at every hand-out;
--   v      1 when no entry of the group's pending list needs delivering first (checked once with
--          XPENDING, so entries a Go consumer left pending come first);
--   p      1 when the entry `id` is in the group's pending list (it came from there);
--   fails  failed deliveries of `id`;
--   id     the entry in flight or to deliver again (`-` for none);
--   owner  the consumer holding it (empty when none).
-- Entries are read with NOACK: the state, not the pending list, tracks what is in flight, which
-- saves the XACK of every message. A holder proves its ownership with the exact state string it
-- was handed, so any change of the state (a newer hand-out) fences it off.
local function decode(s)
  if not s then return {token = 0, v = '0', p = '0', fails = 0} end
  local t, v, p, f, id, o = string.match(s, '^(%d+) ([01])([01]) (%d+) (%S+) (.*)$')
  if not t then error('bad channel state: ' .. s) end
  local st = {token = tonumber(t), v = v, p = p, fails = tonumber(f)}
  if id ~= '-' then st.id = id end
  if o ~= '' then st.owner = o end
  return st
end

local function encode(st)
  return string.format('%d %s%s %d %s %s', st.token, st.v, st.p, st.fails, st.id or '-',
    st.owner or '')
end

-- The state with nothing in flight.
local function idle(st)
  return {token = st.token, v = st.v, p = '0', fails = 0}
end

-- The channel states one script call works on: read with one HMGET, written with one HSET (and
-- one HDEL) at the end, so a call serving many channels makes two state calls, not two per
-- channel. A channel not read up front is read on first use.
local function states(base, chans)
  local S = {key = base .. ':state', cur = {}, dirty = {}}
  if #chans > 0 then
    local v = redis.call('HMGET', S.key, unpack(chans))
    for i, c in ipairs(chans) do S.cur[c] = v[i] or false end
  end
  return S
end

local function sget(S, c)
  local v = S.cur[c]
  if v == nil then
    v = redis.call('HGET', S.key, c) or false
    S.cur[c] = v
  end
  return v
end

-- v: the new state string, or false to drop the channel's state.
local function sput(S, c, v)
  S.cur[c] = v
  S.dirty[c] = true
end

local function sflush(S)
  local set, del = {}, {}
  for c in pairs(S.dirty) do
    local v = S.cur[c]
    if v then
      set[#set + 1] = c
      set[#set + 1] = v
    else
      del[#del + 1] = c
    end
  end
  if #set > 0 then redis.call('HSET', S.key, unpack(set)) end
  if #del > 0 then redis.call('HDEL', S.key, unpack(del)) end
  S.dirty = {}
end

-- Drops what this shard knows about channel c, whose stream was deleted elsewhere.
local function forget(base, c, skey, S)
  sput(S, c, false)
  redis.call('SREM', base .. ':streams', skey)
  redis.call('ZREM', base .. ':stream-activity', skey)
end

-- After a stream command failed: forgets a stream deleted elsewhere (false), or creates the
-- missing consumer group (true).
local function repair(base, c, skey, group, S)
  if redis.call('EXISTS', skey) == 0 then
    forget(base, c, skey, S)
    return false
  end
  redis.pcall('XGROUP', 'CREATE', skey, group, '0')
  return true
end

-- Takes ownership of channel c (whose schedule score is due: ready, or a lease that ran out) and
-- returns its next entry {c, id, channel_id, body, token, attempt, state}, or nil and whether the
-- channel stays scheduled ('later') or leaves the schedule ('gone'). The caller writes the
-- schedule; the state goes to S. st is the channel's decoded state when the caller has it.
local function take(base, c, group, consumer, now, maxdel, S, st)
  local skey = base .. ':stream:' .. c
  st = st or decode(sget(S, c))
  local cur_id, fails, inpel = st.id, st.fails, st.p == '1'
  local verified = st.v == '1'
  -- an owner with a due score: the holder's lease ran out, so that delivery failed
  if st.owner and cur_id then fails = fails + 1 end
  for _ = 1, 50 do
    local id, fields
    if cur_id then
      local r = redis.call('XRANGE', skey, cur_id, cur_id)
      if #r > 0 then
        id, fields = cur_id, r[1][2]
      else
        -- the entry is gone (deleted elsewhere): forget it
        if inpel then redis.pcall('XACK', skey, group, cur_id) end
        cur_id, fails, inpel = nil, 0, false
      end
    end
    if not id and not verified then
      local pend = redis.pcall('XPENDING', skey, group, '-', '+', 1)
      if type(pend) == 'table' and pend.err then
        if not repair(base, c, skey, group, S) then return nil, 'gone' end
        pend = {}
      end
      if #pend > 0 then
        -- left pending by another consumer: deliver it first
        local cl = redis.call('XCLAIM', skey, group, consumer, 0, pend[1][1])
        if #cl > 0 and type(cl[1]) == 'table' and type(cl[1][2]) == 'table' then
          id, fields, fails, inpel = pend[1][1], cl[1][2], 0, true
        else
          redis.call('XACK', skey, group, pend[1][1])
        end
      else
        verified = true
      end
    end
    if not id and verified then
      local r = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'NOACK', 'STREAMS',
        skey, '>')
      if type(r) == 'table' and r.err then
        if not repair(base, c, skey, group, S) then return nil, 'gone' end
        r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'NOACK', 'STREAMS', skey,
          '>')
      end
      if not r then
        -- nothing unread and nothing pending: what is left was acknowledged (by Go consumers)
        if redis.call('XLEN', skey) > 0 then redis.call('XTRIM', skey, 'MAXLEN', 0) end
        local rest = idle(st)
        rest.v = '1'
        sput(S, c, encode(rest))
        return nil, 'gone'
      end
      id, fields, fails, inpel = r[1][2][1][1], r[1][2][1][2], 0, false
    end
    if fields then
      local cid = field(fields, 'channel_id')
      if not cid or cid == '' then cid = c end
      local body = field(fields, 'body')
      local reason = nil
      if not body or body == '' then
        reason = 'entry has no body'
      elseif fails > maxdel then
        reason = 'delivery failed ' .. fails .. ' times'
      end
      if reason then
        redis.call('XADD', base .. ':dead-letter', 'MAXLEN', '~', 100000, '*', 'channel_id', cid,
          'body', body or '', 'reason', reason, 'stream', skey, 'message_id', id)
        if inpel then redis.call('XACK', skey, group, id) end
        redis.call('XDEL', skey, id)
        cur_id, fails, inpel = nil, 0, false
      else
        local held = {token = st.token + 1, v = verified and '1' or '0', p = inpel and '1' or '0',
          fails = fails, id = id, owner = consumer}
        local state = encode(held)
        sput(S, c, state)
        return {c, id, cid, body, held.token, fails + 1, state}
      end
    end
  end
  -- many poison entries in a row: continue later
  local rest = idle(st)
  rest.v = verified and '1' or '0'
  sput(S, c, encode(rest))
  return nil, 'later'
end

-- Whether the caller still owns channel c: its state is exactly the one it was handed.
local function owns(base, c, state)
  return redis.call('HGET', base .. ':state', c) == state
end

-- Appends one message to channel c's stream: {0, id} when added, {1, backlog} when the channel is
-- full. lens caches stream lengths within one script call (a storm sends many messages to one
-- channel in one call); the caller marks the channel active and schedules it.
local function append(base, c, body, group, maxlen, lens)
  local skey = base .. ':stream:' .. c
  local len = lens[c] or redis.call('XLEN', skey)
  if len >= maxlen then
    lens[c] = len
    return {1, len}
  end
  local id = redis.call('XADD', skey, 'NOMKSTREAM', '*', 'channel_id', c, 'body', body)
  if not id then
    -- a new stream: its group starts at the beginning, and it joins Go's index (an existing
    -- stream is indexed already: the scan only drops missing streams)
    id = redis.call('XADD', skey, '*', 'channel_id', c, 'body', body)
    redis.pcall('XGROUP', 'CREATE', skey, group, '0')
    redis.call('SADD', base .. ':streams', skey)
  end
  lens[c] = len + 1
  return {0, id}
end

-- Records the activity (Go's key) of the channels in `chans` and schedules those not scheduled
-- yet; returns whether one was newly scheduled.
local function mark_sent(base, sched, chans, now)
  if #chans == 0 then return false end
  local sec = math.floor(now / 1000)
  local act, rdy = {}, {}
  for _, c in ipairs(chans) do
    act[#act + 1] = sec
    act[#act + 1] = base .. ':stream:' .. c
    rdy[#rdy + 1] = now
    rdy[#rdy + 1] = c
  end
  redis.call('ZADD', base .. ':stream-activity', unpack(act))
  return redis.call('ZADD', sched, 'NX', unpack(rdy)) > 0
end

-- One send with its dedup check, protected: {0, id}, {1, backlog}, {2} (duplicate) or {9, error}.
local function send_one(base, c, body, group, maxlen, lens, dedup_ms, dedup_key)
  local ok, r = pcall(function()
    if dedup_ms ~= '0' and redis.call('EXISTS', dedup_key) == 1 then return {2} end
    local r = append(base, c, body, group, maxlen, lens)
    if r[1] == 0 and dedup_ms ~= '0' then redis.call('SET', dedup_key, r[2], 'PX', dedup_ms) end
    return r
  end)
  if ok then return r end
  if type(r) == 'table' and r.err then return {9, r.err} end
  return {9, tostring(r)}
end

-- Collects schedule changes of one script call, written with one ZADD and one ZREM.
local function schedule()
  return {set = {}, rem = {}}
end
local function sched_set(s, c, score)
  s.set[#s.set + 1] = score
  s.set[#s.set + 1] = c
end
local function sched_flush(s, key)
  if #s.set > 0 then redis.call('ZADD', key, unpack(s.set)) end
  if #s.rem > 0 then redis.call('ZREM', key, unpack(s.rem)) end
  s.set, s.rem = {}, {}
end

-- One ack: {-1} not owned, {0, woke} done, {1, entry} done and the channel's next entry taken.
-- The channel's next entry goes to the same consumer at once (chain) only when no other channel
-- is due; otherwise the channel goes to the back of the schedule (round robin).
local function ack_one(base, c, state, chain, group, consumer, lease, maxdel, now, s, S)
  local skey = base .. ':stream:' .. c
  local st = decode(state)
  if not st.id or sget(S, c) ~= state then return {-1} end
  if st.p == '1' then redis.call('XACK', skey, group, st.id) end
  redis.call('XDEL', skey, st.id)
  if chain == '1' and not s.waiting then
    local e, fate = take(base, c, group, consumer, now, maxdel, S, idle(st))
    if e then
      sched_set(s, c, now + lease)
      return {1, e}
    end
    if fate == 'later' then sched_set(s, c, now) else s.rem[#s.rem + 1] = c end
    return {0, 0}
  end
  sput(S, c, encode(idle(st)))
  if redis.call('XLEN', skey) > 0 then
    sched_set(s, c, now)
    s.waiting = true
    return {0, 1}
  end
  s.rem[#s.rem + 1] = c
  return {0, 0}
end

"#;

/// KEYS: schedule (for routing; all keys are of this shard). ARGV: base, group, maxlen, notify,
/// then per message: channel, body, dedup window ms (`0` = no dedup), dedup key.
/// Returns one reply of `send_one` per message, the first one with a third element `1` when a
/// channel was newly scheduled (`{0, id, 1}`).
const SEND: &str = r#"
local now = now_ms()
local base = ARGV[1]
local out, lens, chans = {}, {}, {}
local first = nil
for i = 5, #ARGV, 4 do
  local c = ARGV[i]
  local r = send_one(base, c, ARGV[i + 1], ARGV[2], tonumber(ARGV[3]), lens, ARGV[i + 2], ARGV[i + 3])
  if r[1] == 0 then
    if not first then first = r end
    if lens[c] and not chans[c] then
      chans[c] = true
      chans[#chans + 1] = c
    end
  end
  out[#out + 1] = r
end
if mark_sent(base, KEYS[1], chans, now) then
  first[3] = 1
  notify(ARGV[4])
end
return out
"#;

/// KEYS: schedule. ARGV: base, group, consumer, lease ms, max deliveries, count.
/// Returns `{wait_ms, {entry...}}`; `wait_ms` is the time until the next scheduled channel is due
/// (`-1` for none).
const CLAIM: &str = r#"
local now = now_ms()
local base, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local lease, maxdel, want = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local out = {}
local s = schedule()
for _ = 1, 4 do
  if #out >= want then break end
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, want - #out)
  if #due == 0 then break end
  local S = states(base, due)
  for _, c in ipairs(due) do
    -- A broken channel (say, a key of the wrong type) must not fail the claims of the others.
    local ok, e, fate = pcall(take, base, c, group, consumer, now, maxdel, S, nil)
    if not ok then
      redis.log(redis.LOG_WARNING, 'sm-redis-queue: skipping channel ' .. c .. ': ' .. tostring(e))
      s.rem[#s.rem + 1] = c
    elseif e then
      out[#out + 1] = e
      sched_set(s, c, now + lease)
    elseif fate == 'later' then
      sched_set(s, c, now + 1)
    else
      s.rem[#s.rem + 1] = c
    end
  end
  sflush(S)
  sched_flush(s, KEYS[1])
end
local wait = -1
local nx = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nx[2] then wait = math.max(0, tonumber(nx[2]) - now) end
return {wait, out}
"#;

/// KEYS: schedule. ARGV: base, group, consumer, lease ms, max deliveries, notify, then per
/// ack: channel, state, chain (`1`/`0`). Returns one reply of `ack_one` per ack (`{9, error}`
/// when one failed).
const ACK: &str = r#"
local now = now_ms()
local out = {}
local s = schedule()
s.waiting = #redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1) > 0
local chans = {}
for i = 7, #ARGV, 3 do chans[#chans + 1] = ARGV[i] end
local S = states(ARGV[1], chans)
local woke = false
for i = 7, #ARGV, 3 do
  local ok, r = pcall(ack_one, ARGV[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[2], ARGV[3],
    tonumber(ARGV[4]), tonumber(ARGV[5]), now, s, S)
  if not ok then
    if type(r) == 'table' and r.err then r = {9, r.err} else r = {9, tostring(r)} end
  elseif r[1] == 0 and r[2] == 1 then
    woke = true
  end
  out[#out + 1] = r
end
sflush(S)
sched_flush(s, KEYS[1])
if woke then notify(ARGV[6]) end
return out
"#;

/// KEYS: schedule. ARGV: base, channel, state, delay ms, count failure (`1`/`0`), notify.
/// Returns `{-1}` (not owned) or `{0}`. The entry stays the channel's next one.
const NACK: &str = r#"
local now = now_ms()
local base, c = ARGV[1], ARGV[2]
if not owns(base, c, ARGV[3]) then return {-1} end
local st = decode(ARGV[3])
st.owner = nil
if ARGV[5] == '1' then st.fails = st.fails + 1 end
redis.call('HSET', base .. ':state', c, encode(st))
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), c)
notify(ARGV[6])
return {0}
"#;

/// KEYS: schedule. ARGV: base, lease ms, then per entry: channel, state. Returns per entry 1 when
/// extended, 0 when no longer owned.
const EXTEND: &str = r#"
local now = now_ms()
local chans = {}
for i = 3, #ARGV, 2 do chans[#chans + 1] = ARGV[i] end
local S = states(ARGV[1], chans)
local d = now + tonumber(ARGV[2])
local out, set = {}, {}
for i = 3, #ARGV, 2 do
  if sget(S, ARGV[i]) == ARGV[i + 1] then
    out[#out + 1] = 1
    set[#set + 1] = d
    set[#set + 1] = ARGV[i]
  else
    out[#out + 1] = 0
  end
end
if #set > 0 then redis.call('ZADD', KEYS[1], unpack(set)) end
return out
"#;

/// KEYS: dead-letter, schedule. ARGV: base, dead-letter id, group, maxlen, notify.
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
local r = append(base, c, body, ARGV[3], tonumber(ARGV[4]), {})
if r[1] == 0 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  if mark_sent(base, KEYS[2], {c}, now) then notify(ARGV[5]) end
end
return r
"#;

/// KEYS: index, schedule, scan-leader. ARGV: base, group, cursor (`0` = start when it is this
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
  local states_key = base .. ':state'
  local st = decode(redis.call('HGET', states_key, c))
  local due = redis.call('ZSCORE', KEYS[2], c)
  local owned = st.owner and due and tonumber(due) > now
  if redis.call('EXISTS', skey) == 0 then
    if not owned then
      redis.call('SREM', KEYS[1], skey)
      redis.call('ZREM', activity, skey)
      redis.call('ZREM', KEYS[2], c)
      redis.call('HDEL', states_key, c)
      deleted = deleted + 1
    end
  else
    local cons = redis.pcall('XINFO', 'CONSUMERS', skey, ARGV[2])
    if type(cons) == 'table' and cons.err then
      redis.pcall('XGROUP', 'CREATE', skey, ARGV[2], '0')
      cons = {}
    end
    local pending_total = 0
    for _, ci in ipairs(cons) do
      local idle = tonumber(field(ci, 'idle') or 0)
      local pending = tonumber(field(ci, 'pending') or 0)
      pending_total = pending_total + pending
      if idle > tonumber(ARGV[7]) and pending == 0 then
        redis.call('XGROUP', 'DELCONSUMER', skey, ARGV[2], field(ci, 'name'))
      end
    end
    -- entries pending beyond the one the channel state tracks (left by a Go consumer, say):
    -- the next claim looks at the pending list again
    if pending_total > (st.p == '1' and 1 or 0) and st.v == '1' and not st.owner then
      st.v = '0'
      redis.call('HSET', states_key, c, encode(st))
    end
    if redis.call('XLEN', skey) > 0 then
      if not owned and redis.call('ZADD', KEYS[2], 'NX', now, c) == 1 then readied = readied + 1 end
    elseif not owned and ARGV[8] ~= '0' then
      local score = redis.call('ZSCORE', activity, skey)
      if not score or tonumber(score) <= math.floor(now / 1000) - tonumber(ARGV[8]) then
        redis.call('DEL', skey)
        redis.call('HDEL', states_key, c)
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
