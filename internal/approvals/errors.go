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

// ErrInvalidChange is returned by Changes when the caller passes something
// the store cannot keep: a change without an ID, workspace or requester, an
// expiry not after creation, a time before 1970, Finish with a status that
// is not an outcome, and the like. It is a bug in the caller, not an outage.
var ErrInvalidChange = errors.New("invalid change")

// ErrChangeIDInUse is returned by Changes.Create when the workspace already
// holds a change with the new change's ID.
var ErrChangeIDInUse = errors.New("change id already in use")

// ErrInvalidPolicy is returned by Policies.SetPolicy for a policy outside
// the documented bounds (1 to 5 approvals per environment).
var ErrInvalidPolicy = errors.New("invalid policy")
