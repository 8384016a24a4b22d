// Package approvals will hold Flagbot's two-person rule: a change request is
// stored with a TTL and applied only after someone other than the requester
// approves it, in one atomic step.
//
// For now it holds the Redis plumbing that rule will stand on: a Store that
// wraps a go-redis client (or an embedded miniredis when no REDIS_URL is
// configured), a prefixed key/value API used by the token store, and the
// workspace key scheme (WorkspaceKey). Every Redis failure surfaces as an
// error wrapping ErrUnavailable within the store's operation timeout, and a
// Store reconnects by itself once Redis is back.
//
// This package owns Flagbot's only imports of github.com/redis/go-redis and
// github.com/alicebob/miniredis: no other package may import them (other
// packages' tests use NewTestStore and NewRealTestStore instead). It must not
// import slack-go, internal/ld or internal/commands.
package approvals
