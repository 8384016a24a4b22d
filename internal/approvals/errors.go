package approvals

import (
	"errors"
	"fmt"

	"github.com/flagbot/flagbot/internal/redisstore"
)

// Failures of Redis itself come from internal/redisstore and wrap
// redisstore.ErrUnavailable; this package adds its operation and the change
// ID in front, and match none of commands' errors.

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

// storeError wraps an error of the store during op on change id.
func storeError(op, id string, err error) error {
	if id == "" {
		return fmt.Errorf("approvals: %s: %w", op, err)
	}
	return fmt.Errorf("approvals: %s %q: %w", op, id, err)
}

// badReply reports a reply of Redis that this package cannot read, as an
// outage: the data or the scripts are not what this code wrote.
func badReply(op, id string, err error) error {
	return storeError(op, id, fmt.Errorf("%w: %w", redisstore.ErrUnavailable, err))
}
