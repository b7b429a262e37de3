package redis

import goredis "github.com/redis/go-redis/v9"

// Every script touches only the keys passed in KEYS, and all of those share
// one hash tag (see keys.go).

// setIfAbsent creates a string key unless it exists.
// KEYS[1] key. ARGV[1] value.
// Returns {1, value} when created, {0, existing} otherwise.
var setIfAbsent = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[1])
return {1, ARGV[1]}
`)

// casSet replaces a string key's value if it still is the expected one.
// KEYS[1] key. ARGV[1] expected value, ARGV[2] new value.
// Returns 1 when replaced, 0 when the value changed (or the key is gone).
var casSet = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// casDel deletes a string key if it still has the expected value.
// KEYS[1] key. ARGV[1] expected value. Returns 1 when deleted, else 0.
var casDel = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// providerDel deletes a provider-id record if it belongs to the customer.
// KEYS[1] provider-id hash. ARGV[1] customer id. Returns 1 when deleted, else 0.
var providerDel = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'customer') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// casHSet replaces a hash field's value if it still is the expected one.
// KEYS[1] hash. ARGV[1] field, ARGV[2] expected value, ARGV[3] new value.
// Returns 1 when replaced, 0 otherwise.
var casHSet = goredis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
`)

// appendEntry writes an entry to a customer's timeline unless it is there.
// KEYS[1] entries hash, KEYS[2] timeline ZSET (one customer tag).
// ARGV[1] entry id, ARGV[2] entry JSON, ARGV[3] sort key.
// Returns {1, ""} when written (the caller has the JSON; sending it back
// would only cost bytes), {0, existing json} when it existed.
var appendEntry = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then return {0, cur} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
return {1, ''}
`)

// deleteTimeline removes a customer's entries and timeline.
// KEYS[1] entries hash, KEYS[2] timeline ZSET. Returns the number of entries removed.
var deleteTimeline = goredis.NewScript(`
local n = redis.call('HLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return n
`)

// conversationHelpers is shared by the conversation scripts (KEYS[1] the
// customer's conversations hash, KEYS[2] its thread-key hash).
// unresolved: whether conversation id exists and is unresolved.
// storeConversation writes conversation id's new JSON and keeps the
// thread-key index right: an unresolved conversation holds its thread key, a
// resolved one releases it. Returns 1 when stored, -1 (nothing written) when
// another unresolved conversation holds the new thread key. The common case
// (a message touches an open conversation: same thread key, still
// unresolved, already holding it) writes only the record.
const conversationHelpers = `
local function unresolved(id)
  local j = redis.call('HGET', KEYS[1], id)
  if not j then return false end
  return cjson.decode(j)['status'] ~= 'resolved'
end
local function storeConversation(id, new, oldtk, newtk, resolved)
  if oldtk == newtk and resolved ~= '1' and redis.call('HGET', KEYS[2], newtk) == id then
    redis.call('HSET', KEYS[1], id, new)
    return 1
  end
  if resolved ~= '1' then
    local holder = redis.call('HGET', KEYS[2], newtk)
    if holder and holder ~= id and unresolved(holder) then return -1 end
  end
  if redis.call('HGET', KEYS[2], oldtk) == id then
    redis.call('HDEL', KEYS[2], oldtk)
  end
  if resolved ~= '1' then
    redis.call('HSET', KEYS[2], newtk, id)
  end
  redis.call('HSET', KEYS[1], id, new)
  return 1
end
`

// openConversation stores a conversation as its thread's, atomically per
// (customer, thread key).
// KEYS[1] conversations hash, KEYS[2] thread-key hash (one customer tag).
// ARGV[1] id, ARGV[2] JSON, ARGV[3] thread key, ARGV[4] "1" when the new
// conversation is resolved (it then takes no thread key).
// Returns {1, json} when stored, {0, existing json} when the id exists or
// another unresolved conversation holds the thread key.
// findThread returns the unresolved conversation holding a thread key, so
// the common case (the thread exists) costs one round trip and writes nothing.
// KEYS[1] conversations hash, KEYS[2] thread-key hash (one customer tag).
// ARGV[1] thread key. Returns the conversation JSON or nil.
//
// Only unresolved conversations hold a thread key (openConversation and
// updateConversation keep that true atomically), so the holder is returned
// without decoding it; the caller still checks its status.
var findThread = goredis.NewScript(`
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder then return redis.call('HGET', KEYS[1], holder) end
return false
`)

var openConversation = goredis.NewScript(conversationHelpers + `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then return {0, cur} end
if ARGV[4] ~= '1' then
  local holder = redis.call('HGET', KEYS[2], ARGV[3])
  if holder and holder ~= ARGV[1] and unresolved(holder) then
    return {0, redis.call('HGET', KEYS[1], holder)}
  end
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, ARGV[2]}
`)

// updateConversation is the compare-and-swap of a conversation.
// KEYS[1] conversations hash, KEYS[2] thread-key hash (one customer tag).
// ARGV[1] id, ARGV[2] expected JSON, ARGV[3] new JSON, ARGV[4] old thread
// key, ARGV[5] new thread key, ARGV[6] "1" when the new status is resolved.
// Returns 1 when stored, 0 when the record changed (retry), -1 when another
// unresolved conversation holds the new thread key.
var updateConversation = goredis.NewScript(conversationHelpers + `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
return storeConversation(ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
`)

// appendToConversation appends an entry to a customer's timeline and, in
// the same step, compare-and-swaps the conversation it belongs to
// (AppendToConversation): the hot path of every inbound message.
// KEYS[1] conversations hash, KEYS[2] thread-key hash, KEYS[3] entries
// hash, KEYS[4] timeline ZSET (one customer tag).
// ARGV[1..6] as updateConversation's; ARGV[7] entry id, ARGV[8] entry
// JSON, ARGV[9] entry sort key.
// Returns {1, ""} when both were written; {0, existing entry JSON} when the
// entry exists (nothing written); {2, current conversation JSON or false}
// when the conversation is not the expected one (retry with it; false: it
// is gone); {-1, ""} on a thread-key conflict.
var appendToConversation = goredis.NewScript(conversationHelpers + `
local e = redis.call('HGET', KEYS[3], ARGV[7])
if e then return {0, e} end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then return {2, cur} end
if storeConversation(ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) ~= 1 then return {-1, ''} end
redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[4], 0, ARGV[9])
return {1, ''}
`)

// deleteConversation removes a conversation and its thread key.
// KEYS[1] conversations hash, KEYS[2] thread-key hash. ARGV[1] id.
// Returns the deleted JSON, or false (nil) when missing.
var deleteConversation = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return false end
local tk = cjson.decode(cur)['thread_key']
if tk and redis.call('HGET', KEYS[2], tk) == ARGV[1] then
  redis.call('HDEL', KEYS[2], tk)
end
redis.call('HDEL', KEYS[1], ARGV[1])
return cur
`)

// ---- queues ----

// queueReclaim hands out items due for redelivery: first those whose
// Retry backoff has passed (due ZSET, injected clock), then the pending
// items of consumers whose heartbeat is gone (their process died: taken at
// once, whatever their idle time), then pending ones nobody acked within
// ClaimAfter (XAUTOCLAIM, on Redis's clock: a consumer that hung).
// Claiming counts the delivery. New items are read with a plain
// XREADGROUP, outside this script.
// A heartbeat key is ARGV[6] .. the consumer name escaped as keys.go's esc
// does: it shares the queue's hash tag, so the script stays in one slot.
// The pseudo-consumer "retry" (Retry's parking place, see the due ZSET) and
// the calling consumer are never taken from. An entry of a dead consumer
// that is no longer in the stream was acked (XDEL, then a crash before
// XACK): it is XACKed, not handed out.
// XAUTOCLAIM looks at about ten entries of the pending list per item asked
// for, so the scan resumes where the last run stopped (ARGV[5], returned
// back) and goes on for a few calls: a long pending list (retried items keep
// their place at its head) is walked across runs instead of hiding what
// lies behind its head.
// KEYS[1] stream, KEYS[2] due ZSET (one queue tag).
// ARGV[1] consumer, ARGV[2] max, ARGV[3] now (ms), ARGV[4] ClaimAfter (ms),
// ARGV[5] scan cursor ("0-0" from the start), ARGV[6] heartbeat key prefix,
// ARGV[7] "1" to take dead consumers' items ("0" right after an outage).
// Returns {next-due-ms or "", next cursor, item...} where an item is
// {id, payload, enqueued_at_ns, delivery count}.
var queueReclaim = goredis.NewScript(`
local stream, due = KEYS[1], KEYS[2]
local max, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
local function field(f, name)
  for i = 1, #f, 2 do if f[i] == name then return f[i+1] end end
  return ''
end
local function count(id)
  local p = redis.call('XPENDING', stream, 'hub', id, id, 1)
  if #p > 0 then return p[1][4] end
  return 1
end
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, max)
for _, id in ipairs(ids) do
  redis.call('ZREM', due, id)
  local c = redis.call('XCLAIM', stream, 'hub', ARGV[1], 0, id)
  if #c > 0 and type(c[1]) == 'table' then
    out[#out+1] = {id, field(c[1][2], 'p'), field(c[1][2], 't'), count(id)}
  end
end
local function esc(s)
  return (string.gsub(s, '[%%{}:]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
if ARGV[7] == '1' and #out < max then
  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, 'hub')) do
    if #out >= max then break end
    local name, pending
    for i = 1, #c, 2 do
      if c[i] == 'name' then name = c[i+1] elseif c[i] == 'pending' then pending = c[i+1] end
    end
    if name and pending and pending > 0 and name ~= ARGV[1] and name ~= 'retry'
        and redis.call('EXISTS', ARGV[6] .. esc(name)) == 0 then
      local ids = {}
      for _, p in ipairs(redis.call('XPENDING', stream, 'hub', '-', '+', max - #out, name)) do
        ids[#ids+1] = p[1]
      end
      if #ids > 0 then
        local got = {}
        for _, e in ipairs(redis.call('XCLAIM', stream, 'hub', ARGV[1], 0, unpack(ids))) do
          if type(e) == 'table' then
            got[e[1]] = true
            redis.call('ZREM', due, e[1])
            out[#out+1] = {e[1], field(e[2], 'p'), field(e[2], 't'), count(e[1])}
          end
        end
        for _, id in ipairs(ids) do
          if not got[id] then redis.call('XACK', stream, 'hub', id) end
        end
      end
    end
  end
end
local cursor = ARGV[5]
for _ = 1, 8 do
  if #out >= max then break end
  local r = redis.call('XAUTOCLAIM', stream, 'hub', ARGV[1], ARGV[4], cursor, 'COUNT', max - #out)
  cursor = r[1]
  for _, e in ipairs(r[2]) do
    if type(e) == 'table' then
      redis.call('ZREM', due, e[1])
      out[#out+1] = {e[1], field(e[2], 'p'), field(e[2], 't'), count(e[1])}
    end
  end
  if cursor == '0-0' then break end
end
local nd = ''
local first = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
if #first > 0 then nd = first[2] end
local res = {nd, cursor}
for _, o in ipairs(out) do res[#res+1] = o end
return res
`)

// queueTakeOwn claims again for the consumer ARGV[1] the given entries of
// its own pending list (its orphans, found by an XPENDING just before),
// each only if it is still pending for that consumer with the delivery
// count that XPENDING saw and idle for at least ARGV[2] ms: an entry
// another replica claimed in between (its owner changed), or that was
// handed out again meanwhile (its count grew, its idle time reset), stays
// where it is. Check and claim in one script, so nothing can take the
// entry between the two. Claiming counts the delivery. A checked entry no
// longer in the stream (an Ack whose XACK did not run) is XACKed, not
// handed out.
// KEYS[1] stream. ARGV[1] consumer, ARGV[2] min idle (ms), then pairs of
// id and the delivery count XPENDING reported for it.
// Returns items {id, payload, enqueued_at_ns, delivery count}.
var queueTakeOwn = goredis.NewScript(`
local stream, consumer, minIdle = KEYS[1], ARGV[1], tonumber(ARGV[2])
local function field(f, name)
  for i = 1, #f, 2 do if f[i] == name then return f[i+1] end end
  return ''
end
local ids, counts = {}, {}
for i = 3, #ARGV, 2 do
  local id, n = ARGV[i], tonumber(ARGV[i+1])
  local p = redis.call('XPENDING', stream, 'hub', id, id, 1)
  if #p > 0 and p[1][2] == consumer and tonumber(p[1][4]) == n and tonumber(p[1][3]) >= minIdle then
    ids[#ids+1] = id
    counts[id] = n + 1
  end
end
local out = {}
if #ids == 0 then return out end
local got = {}
for _, e in ipairs(redis.call('XCLAIM', stream, 'hub', consumer, 0, unpack(ids))) do
  if type(e) == 'table' and type(e[2]) == 'table' then
    got[e[1]] = true
    out[#out+1] = {e[1], field(e[2], 'p'), field(e[2], 't'), counts[e[1]]}
  end
end
for _, id in ipairs(ids) do
  if not got[id] then redis.call('XACK', stream, 'hub', id) end
end
return out
`)

// queuePruneConsumers deletes the consumers of the group that hold no
// pending item and have been idle for ARGV[1] ms: every process start names
// a new consumer, and the dead ones would pile up. In a script, so a
// consumer cannot take an item between the check and the delete.
// KEYS[1] stream. Returns the number deleted.
var queuePruneConsumers = goredis.NewScript(`
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], 'hub')) do
  local name, pending, idle
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i+1]
    elseif c[i] == 'pending' then pending = c[i+1]
    elseif c[i] == 'idle' then idle = c[i+1] end
  end
  if name and pending == 0 and idle and idle >= tonumber(ARGV[1]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], 'hub', name)
    n = n + 1
  end
end
return n
`)

// queueDeadLetter moves a pending item to the dead stream.
// KEYS[1] stream, KEYS[2] dead stream, KEYS[3] due ZSET (one queue tag).
// ARGV[1] id, ARGV[2] last error, ARGV[3] attempts, ARGV[4] dead_at (ns).
// Returns the dead letter's id, or false (nil) when the item is gone.
var queueDeadLetter = goredis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('XACK', KEYS[1], 'hub', ARGV[1])
if #e == 0 then return false end
local p, t = '', ''
local f = e[1][2]
for i = 1, #f, 2 do
  if f[i] == 'p' then p = f[i+1] elseif f[i] == 't' then t = f[i+1] end
end
local id = redis.call('XADD', KEYS[2], '*', 'p', p, 't', t, 'src', ARGV[1], 'err', ARGV[2], 'n', ARGV[3], 'at', ARGV[4])
redis.call('XDEL', KEYS[1], ARGV[1])
return id
`)

// queueReplay re-enqueues dead letters (one id, or all when ARGV[1] is "").
// KEYS[1] stream, KEYS[2] dead stream. ARGV[1] id or "".
// Returns how many were re-enqueued.
var queueReplay = goredis.NewScript(`
local es
if ARGV[1] == '' then es = redis.call('XRANGE', KEYS[2], '-', '+')
else es = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1]) end
for _, e in ipairs(es) do
  local p, t = '', ''
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'p' then p = f[i+1] elseif f[i] == 't' then t = f[i+1] end
  end
  redis.call('XADD', KEYS[1], '*', 'p', p, 't', t)
  redis.call('XDEL', KEYS[2], e[1])
end
return #es
`)

// queueStats reads a queue's counters.
// KEYS[1] stream, KEYS[2] dead stream. Returns {length, pending, dead,
// oldest enqueued_at ns or ""}.
var queueStats = goredis.NewScript(`
local len = redis.call('XLEN', KEYS[1])
local pending = 0
if len > 0 or redis.call('EXISTS', KEYS[1]) == 1 then
  local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], 'hub')
  if ok then pending = p[1] end
end
local dead = redis.call('XLEN', KEYS[2])
local t = ''
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #first > 0 then
  local f = first[1][2]
  for i = 1, #f, 2 do if f[i] == 't' then t = f[i+1] end end
end
return {len, pending, dead, t}
`)

// ---- leases ----
// Times are 20-digit zero-padded nanoseconds (injected clock) compared as
// strings, so there is no float rounding.

// leaseAcquire takes a free or expired lease with a new fencing token, or
// renews it for its current holder.
// KEYS[1] lease hash, KEYS[2] fencing counter (one lease tag).
// ARGV[1] holder, ARGV[2] now, ARGV[3] new expiry.
// Returns {1|0, holder, token, expiry}: 1 when held by ARGV[1] now, 0 with
// the other holder's lease.
var leaseAcquire = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'holder', 'token', 'exp')
if h[1] and h[3] and h[3] > ARGV[2] then
  if h[1] ~= ARGV[1] then return {0, h[1], h[2], h[3]} end
  redis.call('HSET', KEYS[1], 'exp', ARGV[3])
  return {1, h[1], h[2], ARGV[3]}
end
local t = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', t, 'exp', ARGV[3])
return {1, ARGV[1], tostring(t), ARGV[3]}
`)

// leaseRenew extends an unexpired lease held by ARGV[1] with token ARGV[2].
// KEYS[1] lease hash. ARGV[1] holder, ARGV[2] token, ARGV[3] now, ARGV[4]
// new expiry. Returns 1 when renewed, 0 when lost.
var leaseRenew = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'holder', 'token', 'exp')
if h[1] == ARGV[1] and h[2] == ARGV[2] and h[3] and h[3] > ARGV[3] then
  redis.call('HSET', KEYS[1], 'exp', ARGV[4])
  return 1
end
return 0
`)

// leaseRelease deletes the lease when held by ARGV[1] with token ARGV[2].
// KEYS[1] lease hash. Returns 1 when released, 0 otherwise.
var leaseRelease = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'holder', 'token')
if h[1] == ARGV[1] and h[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// deleteEntry removes one entry from its customer's timeline.
// KEYS[1] entries hash, KEYS[2] timeline ZSET (one customer tag).
// ARGV[1] entry id, ARGV[2] its sort key. Returns 1 when removed, else 0.
var deleteEntry = goredis.NewScript(`
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return n
`)

// whPutEvent records an outbox event unless its id exists, numbering it.
// KEYS[1] events hash, KEYS[2] seq counter, KEYS[3] pending ZSET, KEYS[4]
// the customer's event-id set (all in {wh}). ARGV[1] id, ARGV[2] the
// event JSON whose seq field is `"seq":0,` (right after the id, which as a
// JSON string cannot contain that text unescaped), ARGV[3] "1" to index
// the customer, ARGV[4] the id an earlier version gave the event
// (store.LegacyWebhookEventID; "" for none), which counts as recorded too.
// Returns {1, json} when recorded, {0, existing json}. Its text is also
// the append function's (sb_append_v5, onestep.go), run there as a Lua
// function of its own KEYS and ARGV, so the two recordings cannot drift.
// Editing this text therefore changes sb_append_v5's body under its name
// (TestAppendBodiesUnchanged fails): such a change goes under a new
// function version, with the old text kept for v5.
var whPutEvent = goredis.NewScript(whPutEventBody)

const whPutEventBody = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then return {0, cur} end
if ARGV[4] ~= '' then
  cur = redis.call('HGET', KEYS[1], ARGV[4])
  if cur then return {0, cur} end
end
local seq = redis.call('INCR', KEYS[2])
local v = string.gsub(ARGV[2], '"seq":0,', '"seq":' .. seq .. ',', 1)
redis.call('HSET', KEYS[1], ARGV[1], v)
redis.call('ZADD', KEYS[3], seq, ARGV[1])
if ARGV[3] == '1' then redis.call('SADD', KEYS[4], ARGV[1]) end
return {1, v}
`

// whFanOut stores an event's new deliveries and marks it fanned out.
// KEYS[1] events hash, KEYS[2] pending ZSET, KEYS[3] deliveries hash, then
// per delivery i (from 0) KEYS[4+2i] its endpoint's all ZSET and KEYS[5+2i]
// its endpoint's due ZSET. ARGV[1] event id, ARGV[2] seq, then per delivery
// ARGV[3+3i] hash field, ARGV[4+3i] JSON, ARGV[5+3i] "1" when pending.
// Returns 0 when the event is gone (erased), else 1.
var whFanOut = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local n = (#ARGV - 2) / 3
for i = 0, n - 1 do
  if redis.call('HSETNX', KEYS[3], ARGV[3+3*i], ARGV[4+3*i]) == 1 then
    redis.call('ZADD', KEYS[4+2*i], ARGV[2], ARGV[1])
    if ARGV[5+3*i] == '1' then redis.call('ZADD', KEYS[5+2*i], ARGV[2], ARGV[1]) end
  end
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`)

// sumFigures adds up the counter hashes of a channel's figure cells, in
// Redis: a year of cells is one reply of a few dozen sums instead of 365
// hashes shipped and parsed (docs/PERFORMANCE.md).
// KEYS[1..n] cell hashes of one channel. ARGV[1..m] names wanted per cell.
// Returns {{name1, sum1, name2, sum2, ...}, {cell1 values of ARGV}, ...}.
var sumFigures = goredis.NewScript(`
local sum, names, out = {}, {}, {}
for i, k in ipairs(KEYS) do
  local kv = redis.call('HGETALL', k)
  local cell = {}
  for j = 1, #kv, 2 do
    local n, v = kv[j], tonumber(kv[j+1])
    if sum[n] == nil then names[#names+1] = n; sum[n] = 0 end
    sum[n] = sum[n] + v
    cell[n] = v
  end
  local per = {}
  for j, n in ipairs(ARGV) do per[j] = cell[n] or 0 end
  out[i+1] = per
end
local flat = {}
for _, n in ipairs(names) do flat[#flat+1] = n; flat[#flat+1] = sum[n] end
out[1] = flat
return out
`)

// claimTimers hands out due timers and moves each one's time forward.
// KEYS[1] due ZSET (id → at, unix ms), KEYS[2] data hash (id → payload).
// ARGV[1] now (unix ms), ARGV[2] new time of a claimed timer (unix ms),
// ARGV[3] max. Returns a flat list id, at, payload, ... earliest first.
var claimTimers = goredis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  out[#out+1] = id
  out[#out+1] = due[i+1]
  out[#out+1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
`)
