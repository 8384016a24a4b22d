package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The one-time migration of the key layout before hash tags (ws:_:T1:...,
// org:E1:...) to today's (ws:_:{T1}:..., org:{E1}:..., see keys.go).

// Names and bounds of the migration.
const (
	// upgradeLockKey is taken by the one replica that migrates; the others
	// wait for it.
	upgradeLockKey = "layout-upgrade-lock"
	// upgradeLockTTL bounds how long a replica that died while migrating
	// holds the others up.
	upgradeLockTTL = 5 * time.Minute
	// upgradeWait is how often a waiting replica tries the lock again.
	upgradeWait = 200 * time.Millisecond
)

// luaUpgradeValues rewrites, inside the one key KEYS[1], every value that
// is a full key (with the prefix ARGV[1]) of the layout before hash tags
// into today's, as UpgradeKey does: members of a sorted set or set,
// elements of a list, values of a hash, a string. It keeps scores, list
// order and the key's expiry, and returns how many values it rewrote.
const luaUpgradeValues = `
local p = ARGV[1]
local function up(v)
  if string.sub(v, 1, #p + 3) == p .. 'ws:' then
    local ent, team, tail = string.match(string.sub(v, #p + 4), '^([^:{}]*):([^:{}]+)(.*)$')
    if ent and (tail == '' or string.sub(tail, 1, 1) == ':') then
      return p .. 'ws:' .. ent .. ':{' .. team .. '}' .. tail
    end
  elseif string.sub(v, 1, #p + 4) == p .. 'org:' then
    local ent, tail = string.match(string.sub(v, #p + 5), '^([^:{}]+)(.*)$')
    if ent and (tail == '' or string.sub(tail, 1, 1) == ':') then
      return p .. 'org:{' .. ent .. '}' .. tail
    end
  end
  return v
end
local k = KEYS[1]
local t = redis.call('TYPE', k)['ok']
local n = 0
if t == 'string' then
  local v = redis.call('GET', k)
  local nv = up(v)
  if nv ~= v then
    local ttl = redis.call('PTTL', k)
    if ttl > 0 then redis.call('SET', k, nv, 'PX', ttl) else redis.call('SET', k, nv) end
    n = 1
  end
elseif t == 'hash' then
  local h = redis.call('HGETALL', k)
  for i = 1, #h, 2 do
    local nv = up(h[i + 1])
    if nv ~= h[i + 1] then redis.call('HSET', k, h[i], nv); n = n + 1 end
  end
elseif t == 'list' then
  local l = redis.call('LRANGE', k, 0, -1)
  for i, v in ipairs(l) do
    local nv = up(v)
    if nv ~= v then redis.call('LSET', k, i - 1, nv); n = n + 1 end
  end
elseif t == 'set' then
  for _, v in ipairs(redis.call('SMEMBERS', k)) do
    local nv = up(v)
    if nv ~= v then redis.call('SREM', k, v); redis.call('SADD', k, nv); n = n + 1 end
  end
elseif t == 'zset' then
  local z = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  for i = 1, #z, 2 do
    local nv = up(z[i])
    if nv ~= z[i] then redis.call('ZREM', k, z[i]); redis.call('ZADD', k, z[i + 1], nv); n = n + 1 end
  end
end
return n
`

// UpgradeReport says what UpgradeLayout did.
type UpgradeReport struct {
	// Moved counts the keys renamed to today's layout, Kept those dropped
	// because a key of today's layout of the same name existed already
	// (written by a replica of this version: it is newer).
	Moved, Kept int
	// Values counts the values (index members, list entries, hash values)
	// rewritten to name keys of today's layout.
	Values int
}

// UpgradeLayout is the one-time, idempotent migration of Flagbot's keys to
// the layout with hash tags: it walks the keys of every master with SCAN
// (ScanKeys) for workspace and enterprise keys of the layout before
// (UpgradeKey says which), gives each its new name, and rewrites inside it
// the values that name keys of the old layout (luaUpgradeValues). On one
// server a key moves with RENAMENX; on a cluster, where RENAME works within
// one slot only, with DUMP, RESTORE (keeping its expiry) and DEL. Should
// the new name exist already, the old key is dropped: the new one was
// written by this version and is newer.
//
// One replica migrates at a time (a lock); another one starting meanwhile
// waits for it, then finds nothing left to move. Running it again, or on
// data of today's layout, moves nothing. Keys that are not workspace data
// (the indexes across workspaces that packages approvals and digest
// dissolve, locks) are left to their owners.
//
// It costs two walks over the key space (ws:*, org:*) at every start. Errors wrap
// ErrUnavailable.
func (s *Store) UpgradeLayout(ctx context.Context) (UpgradeReport, error) {
	var r UpgradeReport
	token := rand.Text()
	for {
		got, err := s.TryLock(ctx, upgradeLockKey, token, upgradeLockTTL)
		if err != nil {
			return r, fmt.Errorf("redisstore: upgrade layout: %w", err)
		}
		if got {
			break
		}
		if err := sleepCtx(ctx, upgradeWait); err != nil {
			return r, fmt.Errorf("redisstore: upgrade layout: waiting for another replica: %w", err)
		}
	}
	defer func() { _, _ = s.Unlock(context.WithoutCancel(ctx), upgradeLockKey, token) }()
	upgrade := NewScript(luaUpgradeValues)
	for _, pattern := range []string{"ws:*", "org:*"} {
		var old []string
		err := s.ScanKeys(ctx, pattern, func(keys []string) error {
			for _, k := range keys {
				if _, ok := UpgradeKey(k); ok {
					old = append(old, k)
				}
			}
			return nil
		})
		if err != nil {
			return r, fmt.Errorf("redisstore: upgrade layout: %w", err)
		}
		for _, k := range old {
			nk, _ := UpgradeKey(k)
			moved, err := s.moveKey(ctx, k, nk)
			if err != nil {
				return r, fmt.Errorf("redisstore: upgrade layout: %w", err)
			}
			if moved {
				r.Moved++
			} else {
				r.Kept++
			}
			n, err := s.Run(ctx, upgrade, []string{nk}, s.prefix)
			if err != nil {
				return r, fmt.Errorf("redisstore: upgrade layout: values of %q: %w", nk, err)
			}
			v, _ := n.(int64)
			r.Values += int(v)
		}
	}
	if r.Moved+r.Kept > 0 {
		s.log.InfoContext(ctx, "moved keys to the layout with hash tags", "moved", r.Moved, "kept", r.Kept, "values", r.Values)
	}
	return r, nil
}

// moveKey renames from to to (both without the prefix) unless to exists,
// in which case it deletes from. It reports whether it renamed. A from
// that is gone meanwhile counts as renamed by someone else: false, no
// error.
func (s *Store) moveKey(ctx context.Context, from, to string) (bool, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if !s.Cluster() {
		ok, err := s.client.RenameNX(ctx, s.key(from), s.key(to)).Result()
		switch {
		case err != nil && isNoSuchKey(err):
			return false, nil
		case err != nil:
			return false, unavailable("renamenx", from, err)
		case !ok:
			if err := s.client.Del(ctx, s.key(from)).Err(); err != nil {
				return false, unavailable("del", from, err)
			}
		}
		return ok, nil
	}
	dump, err := s.client.Dump(ctx, s.key(from)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, unavailable("dump", from, err)
	}
	ttl, err := s.client.PTTL(ctx, s.key(from)).Result()
	if err != nil {
		return false, unavailable("pttl", from, err)
	}
	if ttl < 0 {
		ttl = 0 // RESTORE's "no expiry"
	}
	moved := true
	if err := s.client.Restore(ctx, s.key(to), ttl, dump).Err(); err != nil {
		if !isBusyKey(err) {
			return false, unavailable("restore", to, err)
		}
		moved = false
	}
	if err := s.client.Del(ctx, s.key(from)).Err(); err != nil {
		return false, unavailable("del", from, err)
	}
	return moved, nil
}

// isNoSuchKey reports whether err is Redis's reply to a RENAMENX of a key
// that does not exist. Redis error replies carry no code beyond their text.
func isNoSuchKey(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "ERR no such key")
}

// isBusyKey reports whether err is Redis's BUSYKEY reply to a RESTORE onto
// an existing key. Redis error replies carry their kind as the first word.
func isBusyKey(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "BUSYKEY")
}
