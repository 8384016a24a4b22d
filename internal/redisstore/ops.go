package redisstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The few Redis commands other packages need beyond Get, Set, Del,
// CompareAndSwap and Run. Keys are given without the prefix, every call is
// bounded by the operation timeout, and errors wrap ErrUnavailable.

// HGetAll returns the fields and values of the hash at key: an empty map
// when key does not exist.
func (s *Store) HGetAll(ctx context.Context, key string) (map[string]string, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	m, err := s.client.HGetAll(ctx, s.key(key)).Result()
	if err != nil {
		return nil, unavailable("hgetall", key, err)
	}
	return m, nil
}

// SMembers returns the members of the set at key, in no particular order:
// none when key does not exist.
func (s *Store) SMembers(ctx context.Context, key string) ([]string, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	m, err := s.client.SMembers(ctx, s.key(key)).Result()
	if err != nil {
		return nil, unavailable("smembers", key, err)
	}
	return m, nil
}

// ScoredMember is a member of a sorted set with its score.
type ScoredMember struct {
	Member string
	Score  float64
}

// ZRangeUpTo returns the members of the sorted set at key whose score is at
// most maxScore, lowest score first, with their scores: at most limit of
// them (limit <= 0 means all), none when key does not exist.
func (s *Store) ZRangeUpTo(ctx context.Context, key string, maxScore float64, limit int) ([]ScoredMember, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	args := redis.ZRangeArgs{
		Key: s.key(key), Start: "-inf", Stop: scoreArg(maxScore), ByScore: true,
	}
	if limit > 0 {
		args.Count = int64(limit)
	}
	zs, err := s.client.ZRangeArgsWithScores(ctx, args).Result()
	if err != nil {
		return nil, unavailable("zrange", key, err)
	}
	out := make([]ScoredMember, len(zs))
	for i, z := range zs {
		m, _ := z.Member.(string) // go-redis reads every member as a string
		out[i] = ScoredMember{Member: m, Score: z.Score}
	}
	return out, nil
}

// LRange returns the elements of the list at key from start to stop
// (inclusive, negative counting from the end): none when key does not
// exist.
func (s *Store) LRange(ctx context.Context, key string, start, stop int64) ([]string, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	l, err := s.client.LRange(ctx, s.key(key), start, stop).Result()
	if err != nil {
		return nil, unavailable("lrange", key, err)
	}
	return l, nil
}

// ZCount returns how many members of the sorted set at key have a score
// between lo and hi inclusive (0 when key does not exist).
func (s *Store) ZCount(ctx context.Context, key string, lo, hi float64) (int64, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	n, err := s.client.ZCount(ctx, s.key(key), scoreArg(lo), scoreArg(hi)).Result()
	if err != nil {
		return 0, unavailable("zcount", key, err)
	}
	return n, nil
}

// scoreArg writes a score bound as Redis reads it, infinities included.
func scoreArg(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// TryLock sets key to token with an expiry of ttl (rounded up to a whole
// millisecond) only if key does not exist (SET NX PX), and reports whether
// it did: whether the caller now holds the lock named key. token should be
// unique to the holder, so that Unlock releases only its own lock. ttl
// must be positive: a lock whose holder dies is released by its expiry.
func (s *Store) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("redisstore: lock %q: ttl %v is not positive", key, ttl)
	}
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	ok, err := s.client.SetNX(ctx, s.key(key), token, ttl).Result()
	if err != nil {
		return false, unavailable("lock", key, err)
	}
	return ok, nil
}

// luaUnlock deletes KEYS[1] if it holds ARGV[1], and returns how many keys
// it deleted.
const luaUnlock = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

// Unlock deletes key if it still holds token, in one atomic step, and
// reports whether it did. A lock that expired, or that another holder took
// since, is left alone.
func (s *Store) Unlock(ctx context.Context, key, token string) (bool, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	n, err := s.run(ctx, s.unlock, []string{s.key(key)}, token).Int64()
	if err != nil {
		return false, unavailable("unlock", key, err)
	}
	return n == 1, nil
}

// scanCount is the COUNT hint of each SCAN call.
const scanCount = 500

// EnterpriseTeams returns the team IDs of every workspace of the Enterprise
// Grid org enterpriseID that has a key (WorkspaceKey(team, enterpriseID,
// ...)), sorted, by SCANning the key space of every master (ScanKeys): it
// costs a walk over every key, so it is for rare work such as forgetting an
// org-wide installation. Each SCAN call is bounded by the operation
// timeout.
func (s *Store) EnterpriseTeams(ctx context.Context, enterpriseID string) ([]string, error) {
	if enterpriseID == "" {
		return nil, fmt.Errorf("redisstore: enterprise teams: no enterprise id")
	}
	pattern := EnterprisePattern(enterpriseID)
	seen := map[string]bool{}
	err := s.ScanKeys(ctx, pattern, func(keys []string) error {
		for _, k := range keys {
			team, ent, _, ok := ParseWorkspaceKey(k)
			if ok && ent == enterpriseID && team != "" {
				seen[team] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	teams := make([]string, 0, len(seen))
	for t := range seen {
		teams = append(teams, t)
	}
	slices.Sort(teams)
	return teams, nil
}

// SetIfAbsent stores val under key with an expiry of ttl (positive, rounded
// up to a whole millisecond) only if key does not exist (SET NX PX), and
// reports whether it did.
func (s *Store) SetIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("redisstore: set %q if absent: ttl %v is not positive", key, ttl)
	}
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	ok, err := s.client.SetNX(ctx, s.key(key), val, ttl).Result()
	if err != nil {
		return false, unavailable("setnx", key, err)
	}
	return ok, nil
}

// Take deletes key and reports whether it existed: of any number of
// concurrent Takes of one key, on any replica, exactly one gets true. It is
// how a single-use value is spent.
func (s *Store) Take(ctx context.Context, key string) (bool, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	n, err := s.client.Del(ctx, s.key(key)).Result()
	if err != nil {
		return false, unavailable("del", key, err)
	}
	return n == 1, nil
}

// Time returns the Redis server's clock (TIME), to the microsecond: the
// one clock every replica of Flagbot shares, so that work split between
// replicas (a digest's window, a due time) does not depend on whose clock
// is right. The embedded server answers with the wall clock.
func (s *Store) Time(ctx context.Context) (time.Time, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	t, err := s.client.Time(ctx).Result()
	if err != nil {
		return time.Time{}, unavailable("time", "", err)
	}
	return t, nil
}
