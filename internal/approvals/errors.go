package approvals

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned by Get when the key does not exist (or expired).
var ErrNotFound = errors.New("key not found")

// ErrUnavailable is wrapped by every error caused by Redis itself: a refused
// or dropped connection, a timeout, an authentication failure or an error
// reply. Callers classify a store outage with errors.Is(err, ErrUnavailable).
var ErrUnavailable = errors.New("redis unavailable")

// ErrInvalidURL is returned by Open when the Redis URL cannot be used. Its
// message never contains the URL's password.
var ErrInvalidURL = errors.New("invalid redis url")

// unavailable wraps a Redis failure of op (and key, when there is one) so it
// matches ErrUnavailable and the underlying error (context.DeadlineExceeded,
// ...).
func unavailable(op, key string, err error) error {
	if key == "" {
		return fmt.Errorf("approvals: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("approvals: %s %q: %w: %w", op, key, ErrUnavailable, err)
}
