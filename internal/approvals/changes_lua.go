package approvals

// The Lua scripts behind Changes. Each state operation is one script, so it
// is one Redis round trip (EVALSHA, with redisstore.Store.Run falling back
// to EVAL once after a Redis restart flushed the script cache) and atomic:
// Redis runs a script to the end before serving any other client, on every
// replica's connection alike.
//
// Run gives each script its KEYS with the Store's prefix; a key a script
// stores (in an index or a dedupe key) is a full key, prefix included.
//
// Redis Cluster: every script declares every key it touches in KEYS, and
// all of them are keys of one workspace, so they share the workspace's
// hash tag and slot (see redisstore.WorkspaceKey). A script never builds a
// key, and never reads a key it finds in a value: the scripts that work on
// the changes of an index (the sweeps, the listings, Forget) are handed
// the index's members as KEYS by the Go side, which read the index first
// (one round trip more), and check each change's state again themselves,
// so an entry that moved on in between is skipped as before.
//
// A change lives in one hash (see changes.go for the fields). Scripts never
// decode the JSON body: Redis's cjson keeps only 14 significant digits of a
// number and turns [] into {}, which would corrupt a patch's values. State
// fields are plain hash fields instead.
//
// Times are passed as 20-digit zero-padded Unix nanoseconds. Lua numbers are
// doubles and cannot hold them exactly, so before() compares the seconds
// and the nanoseconds apart.
//
// Every script returns {code, fields} where fields is the change's HGETALL
// after the operation (empty when there is no change), except the list
// scripts, which return an array of HGETALLs.
//
// Lost replies: go-redis sends a command again when the connection broke
// after it was written (MaxRetries), so a state script may run twice for
// one call, the second time finding its own work done. Each call therefore
// carries a random token that the script stores with what it changed
// (ctok on create, k:{user} per approval, dtok on a decision or finish); a
// run that finds its own token answers what the first run answered instead
// of "decided", "dup" or "dedupe". Without it, the approval that completed
// the count would be told the change was already decided and nobody would
// apply it.

// luaBefore is prepended to the scripts that compare times.
const luaBefore = `
local function before(a, b)
  local as, bs = tonumber(string.sub(a, 1, 11)), tonumber(string.sub(b, 1, 11))
  if as ~= bs then return as < bs end
  return tonumber(string.sub(a, 12)) < tonumber(string.sub(b, 12))
end
`

// luaFinal moves the change at ck to a final status: out of the indexes, its
// key kept for the retention period, and pushed onto the workspace's capped
// history list, which lives as long as its newest entry. All of them are
// the workspace's keys, declared by the calling script.
const luaFinal = `
local function final(ck, pending, expiry, history, cap, retention, remind)
  redis.call('ZREM', pending, ck)
  redis.call('ZREM', expiry, ck)
  redis.call('ZREM', remind, ck)
  redis.call('PEXPIRE', ck, retention)
  redis.call('LPUSH', history, ck)
  redis.call('LTRIM', history, 0, tonumber(cap) - 1)
  redis.call('PEXPIRE', history, retention)
end
`

// luaCreate stores a new change: pending (mode "pending"), approved at
// once with a lease (mode "approved": an exempt environment or an emergency
// change) or scheduled for its time (mode "scheduled": an exempt
// environment with --at). A pending change is indexed for its expiry and,
// halfway there, its reminder; an approved one in the applying index by the
// end of its lease; a scheduled one in the scheduled indexes by its time.
// "at" holds the time it applies, "sod" and "sor" an emergency change's
// sign-off deadline and reminder (all in ms).
//
// With a dedupe key that names an earlier change, that change's key is
// KEYS[8], as the caller read it; a dedupe key that names another change
// by the time the script runs answers "moved", and the caller reads it
// again.
//
// KEYS: change, pending index, expiry index, dedupe key, applying index,
// scheduled index, reminder index[, the change the dedupe key named].
// ARGV: body, requester, expires (padded ns), required approvals, channel,
// message ts, workspace key, created score (ms), expires score (ms), change
// TTL (ms), dedupe TTL (ms; "0" means no dedupe), call token, mode,
// reminder score (ms; "0" none), claim owner, lease end (ms), apply-at (ms;
// "0" none), sign-off due (ms; "" none), sign-off reminder (ms), workspace
// scheduled index TTL (ms), deletes the flag ("1" or "0").
const luaCreate = `
local ck = KEYS[1]
local dedupe = ARGV[11] ~= '0'
if redis.call('HGET', ck, 'ctok') == ARGV[12] then return {'ok', redis.call('HGETALL', ck)} end
if dedupe then
  local prev = redis.call('GET', KEYS[4])
  if prev then
    if prev ~= KEYS[8] then return {'moved', {}} end
    local h = redis.call('HGETALL', KEYS[8])
    if #h > 0 then return {'dedupe', h} end
  end
end
if redis.call('EXISTS', ck) == 1 then return {'exists', {}} end
local mode = ARGV[13]
redis.call('HSET', ck, 'body', ARGV[1], 'status', mode, 'req', ARGV[2],
  'exp', ARGV[3], 'need', ARGV[4], 'n', '0', 'ch', ARGV[5], 'ts', ARGV[6], 'wsk', ARGV[7], 'ctok', ARGV[12], 'del', ARGV[21])
if ARGV[17] ~= '0' then redis.call('HSET', ck, 'at', ARGV[17]) end
if ARGV[18] ~= '' then redis.call('HSET', ck, 'sod', ARGV[18], 'sor', ARGV[19]) end
redis.call('PEXPIRE', ck, ARGV[10])
if mode == 'pending' then
  redis.call('ZADD', KEYS[2], ARGV[8], ck)
  redis.call('ZADD', KEYS[3], ARGV[9], ck)
  if ARGV[14] ~= '0' then redis.call('ZADD', KEYS[7], ARGV[14], ck) end
elseif mode == 'approved' then
  redis.call('HSET', ck, 'by', ARGV[2], 'own', ARGV[15], 'fence', '1', 'lease', ARGV[16])
  redis.call('ZADD', KEYS[5], ARGV[16], ck)
else
  redis.call('HSET', ck, 'by', ARGV[2])
  redis.call('ZADD', KEYS[6], ARGV[17], ck)
  redis.call('PEXPIRE', KEYS[6], ARGV[20])
end
if dedupe then redis.call('SET', KEYS[4], ck, 'PX', ARGV[11]) end
return {'ok', redis.call('HGETALL', ck)}
`

// luaApprove records one approval. The approval that completes the count
// moves the change out of the pending, expiry and reminder indexes: to
// scheduled when its time ("at") is still to come, into the scheduled
// indexes by that time and with its key kept until then plus the
// retention; else to approved and into the applying index. With a claim
// owner it also takes the lease (fence 1) and is scored by the lease's end;
// without one, by its approval time (Reclaimable then compares the exact
// time, t{n}, with before()).
//
// A pending change that deletes its flag is approved only when the caller
// says the approver confirmed it (typed the flag's key): otherwise it
// answers "confirm" and records nothing. Only a change stored with del "0"
// is known to delete nothing; one stored before the field existed answers
// "confirm" too, and the Go side, which can read its body, decides.
//
// KEYS: change, pending index, expiry index, applying index, reminder
// index, scheduled index.
// ARGV: approver, now (padded ns), call token, now score (ms), claim owner
// ("" for none), lease end (ms), retention (ms), workspace scheduled index
// TTL (ms), deletion confirmed ("1" or "0").
const luaApprove = luaBefore + `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'exp', 'req', 'need', 'n', 'k:' .. ARGV[1], 'at', 'del')
local st = f[1]
if not st then return {'notfound', {}} end
if f[6] == ARGV[3] then
  local code = 'ok'
  if st ~= 'pending' and tonumber(f[5]) >= tonumber(f[4]) and redis.call('HGET', ck, 'a' .. f[5]) == ARGV[1] then
    code = 'approved'
  end
  return {code, redis.call('HGETALL', ck)}
end
if st == 'expired' then return {'expired', redis.call('HGETALL', ck)} end
if st ~= 'pending' then return {'decided', redis.call('HGETALL', ck)} end
if before(f[2], ARGV[2]) then return {'expired', redis.call('HGETALL', ck)} end
if f[3] == ARGV[1] then return {'self', redis.call('HGETALL', ck)} end
if redis.call('HEXISTS', ck, 'u:' .. ARGV[1]) == 1 then return {'dup', redis.call('HGETALL', ck)} end
if ARGV[9] ~= '1' and f[8] ~= '0' then return {'confirm', redis.call('HGETALL', ck)} end
local n = tonumber(f[5]) + 1
local i = tostring(n)
redis.call('HSET', ck, 'n', i, 'a' .. i, ARGV[1], 't' .. i, ARGV[2], 'u:' .. ARGV[1], i, 'k:' .. ARGV[1], ARGV[3])
local code = 'ok'
if n >= tonumber(f[4]) then
  redis.call('ZREM', KEYS[2], ck)
  redis.call('ZREM', KEYS[3], ck)
  redis.call('ZREM', KEYS[5], ck)
  if f[7] and tonumber(f[7]) > tonumber(ARGV[4]) then
    redis.call('HSET', ck, 'status', 'scheduled')
    redis.call('ZADD', KEYS[6], f[7], ck)
    redis.call('PEXPIRE', KEYS[6], ARGV[8])
    redis.call('PEXPIRE', ck, tonumber(f[7]) - tonumber(ARGV[4]) + tonumber(ARGV[7]))
  else
    redis.call('HSET', ck, 'status', 'approved')
    if ARGV[5] ~= '' then
      redis.call('HSET', ck, 'own', ARGV[5], 'fence', '1', 'lease', ARGV[6])
      redis.call('ZADD', KEYS[4], ARGV[6], ck)
    else
      redis.call('ZADD', KEYS[4], ARGV[4], ck)
    end
  end
  code = 'approved'
end
return {code, redis.call('HGETALL', ck)}
`

// luaClaim takes the lease on an approved change for a new attempt, with the
// next fence, unless another attempt's lease is live; a change approved
// without a claim (own empty) may be taken once its approval is older than
// the cutoff. A run that finds its own call token answers as the first run
// did.
//
// KEYS: change, applying index.
// ARGV: owner, now (ms), lease end (ms), unclaimed cutoff (padded ns), call
// token.
const luaClaim = luaBefore + `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'own', 'lease', 'n', 'ltok')
if not f[1] then return {'notfound', {}} end
if f[5] == ARGV[5] then return {'ok', redis.call('HGETALL', ck)} end
if f[1] ~= 'approved' then return {'decided', redis.call('HGETALL', ck)} end
if f[2] and f[2] ~= '' then
  if tonumber(f[3]) > tonumber(ARGV[2]) then return {'claimed', redis.call('HGETALL', ck)} end
else
  local approvedAt = redis.call('HGET', ck, 't' .. f[4])
  if not approvedAt or not before(approvedAt, ARGV[4]) then return {'claimed', redis.call('HGETALL', ck)} end
end
redis.call('HINCRBY', ck, 'fence', 1)
redis.call('HSET', ck, 'own', ARGV[1], 'lease', ARGV[3], 'ltok', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ck)
return {'ok', redis.call('HGETALL', ck)}
`

// luaRenew extends the current lease and, when asked, records that its
// holder is about to send the write (sent = fence). It answers with the
// lease's fields only (own, fence, lease, sent), as field-value pairs.
//
// KEYS: change, applying index.
// ARGV: owner, fence, lease end (ms), "1" to record the send.
const luaRenew = `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'own', 'fence')
if not f[1] then return {'notfound', {}} end
if f[1] ~= 'approved' or f[2] ~= ARGV[1] or f[3] ~= ARGV[2] then return {'lost', {}} end
redis.call('HSET', ck, 'lease', ARGV[3])
if ARGV[4] == '1' then redis.call('HSET', ck, 'sent', ARGV[2]) end
redis.call('ZADD', KEYS[2], ARGV[3], ck)
local l = redis.call('HMGET', ck, 'own', 'fence', 'lease', 'sent')
return {'ok', {'own', l[1], 'fence', l[2], 'lease', l[3], 'sent', l[4] or ''}}
`

// luaDecide rejects or cancels a pending change.
//
// KEYS: change, pending index, expiry index, history, reminder index.
// ARGV: by, now (padded ns), "rejected" or "cancelled", history cap,
// retention (ms), call token.
const luaDecide = luaBefore + luaFinal + `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'exp', 'req', 'dtok')
local st = f[1]
if not st then return {'notfound', {}} end
if f[4] == ARGV[6] then return {'ok', redis.call('HGETALL', ck)} end
if st == 'expired' then return {'expired', redis.call('HGETALL', ck)} end
if st ~= 'pending' then return {'decided', redis.call('HGETALL', ck)} end
if before(f[2], ARGV[2]) then return {'expired', redis.call('HGETALL', ck)} end
if ARGV[3] == 'cancelled' and f[3] ~= ARGV[1] then return {'notrequester', redis.call('HGETALL', ck)} end
redis.call('HSET', ck, 'status', ARGV[3], 'by', ARGV[1], 'dat', ARGV[2], 'dtok', ARGV[6])
final(ck, KEYS[2], KEYS[3], KEYS[4], ARGV[4], ARGV[5], KEYS[5])
return {'ok', redis.call('HGETALL', ck)}
`

// luaFinish moves an approved change to its outcome and out of the
// applying index, for the holder of its current lease only (fence "0" for a
// change never claimed), recording how to undo it ("inv") when given. An
// applied emergency change (one with "sod") starts waiting for its sign-off:
// stage "sost" 0, in the workspace's unsigned index by its deadline and in
// the sign-off index by its reminder.
//
// KEYS: change, pending index, expiry index, history, applying index,
// reminder index, unsigned index, sign-off index.
// ARGV: status, outcome, now (padded ns), history cap, retention (ms), call
// token, fence, undo plan ("" none).
const luaFinish = luaFinal + `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'dtok', 'fence', 'sod', 'sor')
local st = f[1]
if not st then return {'notfound', {}} end
if f[2] == ARGV[6] then return {'ok', redis.call('HGETALL', ck)} end
if st ~= 'approved' then return {'decided', redis.call('HGETALL', ck)} end
if (f[3] or '0') ~= ARGV[7] then return {'lost', redis.call('HGETALL', ck)} end
redis.call('HSET', ck, 'status', ARGV[1], 'out', ARGV[2], 'dat', ARGV[3], 'dtok', ARGV[6])
if ARGV[8] ~= '' then redis.call('HSET', ck, 'inv', ARGV[8]) end
redis.call('ZREM', KEYS[5], ck)
final(ck, KEYS[2], KEYS[3], KEYS[4], ARGV[4], ARGV[5], KEYS[6])
if ARGV[1] == 'applied' and f[4] then
  redis.call('HSET', ck, 'sost', '0')
  redis.call('ZADD', KEYS[7], f[4], ck)
  redis.call('PEXPIRE', KEYS[7], ARGV[5])
  redis.call('ZADD', KEYS[8], f[5], ck)
end
return {'ok', redis.call('HGETALL', ck)}
`

// luaClaimScheduled takes a scheduled change whose time has come for a new
// attempt: it becomes approved with the next fence and a lease, out of the
// scheduled indexes and into the applying index, so a replica that dies
// while applying it is resumed like any other. A run that finds its own
// call token answers as the first run did.
//
// KEYS: change, applying index, scheduled index.
// ARGV: owner, now (ms), lease end (ms), call token.
const luaClaimScheduled = `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'at', 'ltok')
if not f[1] then return {'notfound', {}} end
if f[3] == ARGV[4] then return {'ok', redis.call('HGETALL', ck)} end
if f[1] ~= 'scheduled' then return {'decided', redis.call('HGETALL', ck)} end
if tonumber(f[2]) > tonumber(ARGV[2]) then return {'notdue', redis.call('HGETALL', ck)} end
redis.call('HINCRBY', ck, 'fence', 1)
redis.call('HSET', ck, 'status', 'approved', 'own', ARGV[1], 'lease', ARGV[3], 'ltok', ARGV[4])
redis.call('ZREM', KEYS[3], ck)
redis.call('ZADD', KEYS[2], ARGV[3], ck)
return {'ok', redis.call('HGETALL', ck)}
`

// luaUnschedule cancels a scheduled change.
//
// KEYS: change, pending index, expiry index, history, reminder index,
// scheduled index.
// ARGV: by, now (padded ns), history cap, retention (ms), call token.
const luaUnschedule = luaFinal + `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'dtok')
if not f[1] then return {'notfound', {}} end
if f[2] == ARGV[5] then return {'ok', redis.call('HGETALL', ck)} end
if f[1] ~= 'scheduled' then return {'decided', redis.call('HGETALL', ck)} end
redis.call('HSET', ck, 'status', 'cancelled', 'by', ARGV[1], 'dat', ARGV[2], 'dtok', ARGV[5])
redis.call('ZREM', KEYS[6], ck)
final(ck, KEYS[2], KEYS[3], KEYS[4], ARGV[3], ARGV[4], KEYS[5])
return {'ok', redis.call('HGETALL', ck)}
`

// luaLinkUndo links an undo request to the change it undoes, if the link
// is still what the caller read (compare and set). A run that finds the
// link already set to the new request (a resent call) succeeds.
//
// KEYS: change. ARGV: expected link ("" none), new link.
const luaLinkUndo = `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'undo')
if not f[1] then return {'notfound', {}} end
local cur = f[2] or ''
if cur == ARGV[2] then return {'ok', redis.call('HGETALL', ck)} end
if cur ~= ARGV[1] then return {'linked', redis.call('HGETALL', ck)} end
redis.call('HSET', ck, 'undo', ARGV[2])
return {'ok', redis.call('HGETALL', ck)}
`

// luaSignOff records the sign-off of an applied emergency change and takes
// it out of the unsigned and sign-off indexes.
//
// KEYS: change, unsigned index, sign-off index.
// ARGV: by, now (padded ns), call token.
const luaSignOff = `
local ck = KEYS[1]
local f = redis.call('HMGET', ck, 'status', 'req', 'sost', 'so', 'stok')
if not f[1] then return {'notfound', {}} end
if f[5] == ARGV[3] then return {'ok', redis.call('HGETALL', ck)} end
if f[1] ~= 'applied' or not f[3] or f[4] then return {'nosignoff', redis.call('HGETALL', ck)} end
if f[2] == ARGV[1] then return {'self', redis.call('HGETALL', ck)} end
redis.call('HSET', ck, 'so', ARGV[1], 'sot', ARGV[2], 'stok', ARGV[3])
redis.call('ZREM', KEYS[2], ck)
redis.call('ZREM', KEYS[3], ck)
return {'ok', redis.call('HGETALL', ck)}
`

// luaSetDMs records the direct messages that told approvers about a
// change.
//
// KEYS: change. ARGV: the messages as JSON.
const luaSetDMs = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound', {}} end
redis.call('HSET', KEYS[1], 'dms', ARGV[1])
return {'ok', {}}
`

// luaSetMessage records where a change was posted.
//
// KEYS: change. ARGV: channel, message ts.
const luaSetMessage = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound', {}} end
redis.call('HSET', KEYS[1], 'ch', ARGV[1], 'ts', ARGV[2])
return {'ok', {}}
`

// The scripts below work on changes of one workspace that the caller read
// from one of its indexes: KEYS[1] is the index, then (from the position
// each names) the change keys. Each checks every change's state again, as
// the index may have moved on since it was read.

// luaExpireDue marks the given pending changes of a workspace expired if
// they are due. Index entries whose change is gone or no longer pending are
// dropped.
//
// KEYS: expiry index, reminder index, pending index, history, changes...
// ARGV: now (padded ns), history cap, retention (ms).
const luaExpireDue = luaBefore + luaFinal + `
local out = {}
for i = 5, #KEYS do
  local ck = KEYS[i]
  local f = redis.call('HMGET', ck, 'status', 'exp')
  if not f[1] or f[1] ~= 'pending' then
    redis.call('ZREM', KEYS[1], ck)
  elseif before(f[2], ARGV[1]) then
    redis.call('HSET', ck, 'status', 'expired', 'dat', ARGV[1])
    final(ck, KEYS[3], KEYS[1], KEYS[4], ARGV[2], ARGV[3], KEYS[2])
    out[#out + 1] = redis.call('HGETALL', ck)
  end
end
return out
`

// luaReclaimable returns those of the given approved changes that nobody
// is applying any more: those with a lease (the caller read them from the
// applying index by the lease's end, at or before now), and those approved
// without a claim whose approval is older than the cutoff. Index entries
// whose change is gone or no longer approved are dropped. It changes no
// change: every call returns them again until one is claimed (Claim) or
// finished.
//
// KEYS: applying index, changes... ARGV: unclaimed cutoff (padded ns).
const luaReclaimable = luaBefore + `
local out = {}
for i = 2, #KEYS do
  local ck = KEYS[i]
  local f = redis.call('HMGET', ck, 'status', 'n', 'own')
  if f[1] ~= 'approved' then
    redis.call('ZREM', KEYS[1], ck)
  elseif f[3] and f[3] ~= '' then
    out[#out + 1] = redis.call('HGETALL', ck)
  else
    local approvedAt = redis.call('HGET', ck, 't' .. f[2])
    if approvedAt and before(approvedAt, ARGV[1]) then out[#out + 1] = redis.call('HGETALL', ck) end
  end
end
return out
`

// luaRead returns the given changes that still exist, in order: a
// workspace's pending changes, its history. With ARGV[1] "1" the index
// entries of changes that are gone are dropped (a sorted set); with "0"
// nothing is written (the history list, whose expired tail History skips).
//
// KEYS: index, changes... ARGV: "1" to drop entries of changes gone.
const luaRead = `
local out = {}
for i = 2, #KEYS do
  local h = redis.call('HGETALL', KEYS[i])
  if #h > 0 then
    out[#out + 1] = h
  elseif ARGV[1] == '1' then
    redis.call('ZREM', KEYS[1], KEYS[i])
  end
end
return out
`

// luaRemindDue hands out, once, the given pending changes whose reminder
// is due (the caller read them from the reminder index by score): each
// entry is taken out of the index, and those still pending are returned.
//
// KEYS: reminder index, changes...
const luaRemindDue = `
local out = {}
for i = 2, #KEYS do
  local ck = KEYS[i]
  if redis.call('ZREM', KEYS[1], ck) == 1 and redis.call('HGET', ck, 'status') == 'pending' then
    out[#out + 1] = redis.call('HGETALL', ck)
  end
end
return out
`

// luaSignoffDue moves the given unsigned emergency changes whose next
// sign-off step is due (the caller read them from the sign-off index by
// score, at or before now) one stage on and returns them, each stage once:
// stage 0 becomes 1 (reminded) and is scored by the deadline ("sod"), or
// straight 2 when that passed too; stage 1 becomes 2 (overdue) and leaves
// the index. Entries of changes that are gone or signed off are dropped;
// a change whose entry is no longer due (another caller moved it on) is
// left alone.
//
// KEYS: sign-off index, changes... ARGV: now (ms).
const luaSignoffDue = `
local out = {}
for i = 2, #KEYS do
  local ck = KEYS[i]
  local score = redis.call('ZSCORE', KEYS[1], ck)
  local f = redis.call('HMGET', ck, 'status', 'so', 'sost', 'sod')
  if not score then
  elseif f[1] ~= 'applied' or f[2] or not f[3] or not f[4] then
    redis.call('ZREM', KEYS[1], ck)
  elseif tonumber(score) > tonumber(ARGV[1]) then
  elseif f[3] == '0' and tonumber(f[4]) > tonumber(ARGV[1]) then
    redis.call('HSET', ck, 'sost', '1')
    redis.call('ZADD', KEYS[1], f[4], ck)
    out[#out + 1] = redis.call('HGETALL', ck)
  else
    redis.call('HSET', ck, 'sost', '2')
    redis.call('ZREM', KEYS[1], ck)
    out[#out + 1] = redis.call('HGETALL', ck)
  end
end
return out
`

// luaScheduled returns those of the given changes (from a workspace's
// scheduled index) that are still scheduled, in order, dropping the index
// entries of the others. It changes no change: a due one is returned again
// until it is claimed (ClaimScheduled) or cancelled.
//
// KEYS: scheduled index, changes...
const luaScheduled = `
local out = {}
for i = 2, #KEYS do
  local ck = KEYS[i]
  if redis.call('HGET', ck, 'status') == 'scheduled' then
    out[#out + 1] = redis.call('HGETALL', ck)
  else
    redis.call('ZREM', KEYS[1], ck)
  end
end
return out
`

// luaOverdue returns those of the given emergency changes (from a
// workspace's unsigned index, by deadline) still not signed off, in order,
// dropping the index entries of changes that are gone or signed off.
//
// KEYS: unsigned index, changes...
const luaOverdue = `
local out = {}
for i = 2, #KEYS do
  local ck = KEYS[i]
  local f = redis.call('HMGET', ck, 'status', 'so')
  if f[1] ~= 'applied' or f[2] then
    redis.call('ZREM', KEYS[1], ck)
  else
    out[#out + 1] = redis.call('HGETALL', ck)
  end
end
return out
`
