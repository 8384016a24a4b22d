package redisstore

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// What makes Flagbot work on a Redis Cluster, beyond the hash tags of the
// key scheme (keys.go): walking the key space of every master, reading many
// keys of many slots in one round trip per node, and sets that list the
// workspaces other packages must visit.

// Cluster reports whether s talks to a Redis Cluster (a redis-cluster://
// or rediss-cluster:// URL).
func (s *Store) Cluster() bool {
	_, ok := s.client.(*redis.ClusterClient)
	return ok
}

// ScanKeys walks the keys matching pattern (given without the prefix, a
// Redis glob) with SCAN, on every master of a cluster (each master holds
// its own slots) or on the one server, and calls fn with each page of keys,
// without the prefix. fn is never called concurrently; a key may come
// twice, as SCAN promises no better. An error of fn stops the walk and is
// returned; a Redis failure returns an error wrapping ErrUnavailable. Each
// SCAN call is bounded by the operation timeout; the walk as a whole by
// ctx only. It costs a walk over every key of the database, so it is for
// rare work: an uninstall, the layout migration at start.
func (s *Store) ScanKeys(ctx context.Context, pattern string, fn func(keys []string) error) error {
	var mu sync.Mutex
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			octx, cancel := s.opContext(ctx)
			keys, next, err := c.Scan(octx, cursor, s.key(pattern), scanCount).Result()
			cancel()
			if err != nil {
				return unavailable("scan", pattern, err)
			}
			for i, k := range keys {
				keys[i] = strings.TrimPrefix(k, s.prefix)
			}
			if len(keys) > 0 {
				mu.Lock()
				err = fn(keys)
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return scan(ctx, c)
		})
	}
	return scan(ctx, s.client)
}

// ZRangeUpToEach is ZRangeUpTo on each of keys, in one round trip per
// Redis node (a pipeline, which a cluster client splits by node): out[i]
// holds the members of keys[i] whose score is at most maxScore, lowest
// first, at most limit of them (limit <= 0 means all).
func (s *Store) ZRangeUpToEach(ctx context.Context, keys []string, maxScore float64, limit int) ([][]ScoredMember, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	cmds := make([]*redis.ZSliceCmd, len(keys))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			args := redis.ZRangeArgs{Key: s.key(k), Start: "-inf", Stop: scoreArg(maxScore), ByScore: true}
			if limit > 0 {
				args.Count = int64(limit)
			}
			cmds[i] = p.ZRangeArgsWithScores(ctx, args)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("zrange", keys[0], err)
	}
	out := make([][]ScoredMember, len(keys))
	for i, c := range cmds {
		for _, z := range c.Val() {
			m, _ := z.Member.(string)
			out[i] = append(out[i], ScoredMember{Member: m, Score: z.Score})
		}
	}
	return out, nil
}

// ZCountEach is ZCount on each of keys, in one round trip per Redis node.
func (s *Store) ZCountEach(ctx context.Context, keys []string, lo, hi float64) ([]int64, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	cmds := make([]*redis.IntCmd, len(keys))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.ZCount(ctx, s.key(k), scoreArg(lo), scoreArg(hi))
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("zcount", keys[0], err)
	}
	out := make([]int64, len(keys))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

// SAdd adds members to the set at key.
func (s *Store) SAdd(ctx context.Context, key string, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	if err := s.client.SAdd(ctx, s.key(key), args...).Err(); err != nil {
		return unavailable("sadd", key, err)
	}
	return nil
}

// SRem removes members from the set at key.
func (s *Store) SRem(ctx context.Context, key string, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	if err := s.client.SRem(ctx, s.key(key), args...).Err(); err != nil {
		return unavailable("srem", key, err)
	}
	return nil
}

// ZAdd adds member to the sorted set at key with score, or sets its score.
func (s *Store) ZAdd(ctx context.Context, key string, score float64, member string) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.client.ZAdd(ctx, s.key(key), redis.Z{Score: score, Member: member}).Err(); err != nil {
		return unavailable("zadd", key, err)
	}
	return nil
}

// StripPrefix returns a full key (as Key returns it, or as a script stores
// it in an index) without the Store's prefix, and whether it had it.
func (s *Store) StripPrefix(full string) (string, bool) {
	return strings.CutPrefix(full, s.prefix)
}
