package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// Script is a Lua script that Store.Run runs on Redis. Make each one once,
// with NewScript, and keep it: it carries the script's SHA1 digest.
type Script struct {
	s *redis.Script
}

// NewScript returns the Script of the Lua source src.
func NewScript(src string) *Script { return &Script{s: redis.NewScript(src)} }

// Run runs script atomically on Redis with keys as KEYS and args as ARGV,
// under the Store's operation timeout. keys are given without the prefix:
// Run adds it. args may be strings, []byte, integers, floats or bools.
//
// Run sends EVALSHA, so a script Redis already knows costs one round trip;
// when Redis answers NOSCRIPT (its script cache is empty after a restart or
// SCRIPT FLUSH) it sends the source with EVAL, once.
//
// The script's reply comes back as plain Go values: a Lua string or status
// reply as a string, a number as an int64, a table as []any of such values,
// and nil (Lua nil or false) as nil, also inside a table.
//
// Errors wrap ErrUnavailable. When Redis answered with an error (the script
// failed or returned redis.error_reply) they wrap ErrReply too: the script
// did run, or was refused, and running it again would do the same. Without
// ErrReply, the reply was lost on the way and the script may or may not
// have run; go-redis itself sends a command again, once, when the
// connection breaks after it was written, so scripts should recognise their
// own earlier run when that matters.
func (s *Store) Run(ctx context.Context, script *Script, keys []string, args ...any) (any, error) {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.key(k)
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	v, err := s.run(ctx, script, full, args...).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		return nil, unavailable("run script", "", err)
	}
	return v, nil
}

// run runs script with keys as given (prefixed already).
func (s *Store) run(ctx context.Context, script *Script, keys []string, args ...any) *redis.Cmd {
	return script.s.Run(ctx, s.client, keys, args...)
}
