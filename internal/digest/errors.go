package digest

import "errors"

// ErrNotFound is wrapped by a Store's GetDigest when there is no such
// subscription, and by DigestCursor before a subscription's first completed
// run.
var ErrNotFound = errors.New("digest: not found")

// ErrLeaseLost is returned by a Store's CompleteDigestRun when the caller's
// lease on the subscription expired or was taken over, so nothing was
// written.
var ErrLeaseLost = errors.New("digest run lease lost")
