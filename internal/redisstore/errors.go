package redisstore

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned by Get when the key does not exist (or expired).
var ErrNotFound = errors.New("key not found")

// ErrUnavailable is wrapped by every error caused by Redis itself: a refused
// or dropped connection, a timeout, an authentication failure or an error
// reply. Callers classify a store outage with errors.Is(err, ErrUnavailable).
var ErrUnavailable = errors.New("redis unavailable")

// ErrReply is wrapped, together with ErrUnavailable, by an error that is an
// error reply of Redis (a failing script, a wrong type, a refused command):
// Redis answered, so the command was not lost on the way and sending it again
// would get the same answer. An error without ErrReply may mean that Redis
// never got the command, or ran it and the answer was lost.
var ErrReply = errors.New("redis error reply")

// ErrInvalidURL is returned by Open when the Redis URL cannot be used. Its
// message never contains the URL's password.
var ErrInvalidURL = errors.New("invalid redis url")

// ErrInvalidPrefix is returned by Open and OpenEmbedded when Options.Prefix
// contains '{' or '}', which would give every key the same Redis Cluster
// hash tag.
var ErrInvalidPrefix = errors.New("key prefix may not contain { or }")

// unavailable wraps a Redis failure of op (and key, when there is one) so it
// matches ErrUnavailable and the underlying error (context.DeadlineExceeded,
// ...), and ErrReply too when err is an error reply.
func unavailable(op, key string, err error) error {
	var reply redis.Error
	if errors.As(err, &reply) {
		err = fmt.Errorf("%w: %w", ErrReply, err)
	}
	if key == "" {
		return fmt.Errorf("redisstore: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("redisstore: %s %q: %w: %w", op, key, ErrUnavailable, err)
}
