// Package approvals holds Flagbot's two-person rule and the Redis plumbing it
// stands on.
//
// The rule: Changes (NewChanges) implements commands.Changes. A requested
// flag change is stored pending with an expiry; it is applied only after
// enough people other than the requester approve it. Every state operation
// (Create, Approve, Reject, Cancel, Finish) is one Lua script, so one Redis
// round trip and one atomic step: with any number of concurrent clicks on
// any number of bot replicas, exactly one Approve call sees approvedNow, and
// exactly one Finish records the outcome. An expired change cannot be
// approved; a Sweeper (NewSweeper), run by every replica but taking a Redis
// lock so that one sweeps at a time, marks expired changes and hands each to
// the caller exactly once to update its Slack message. The same sweep hands
// the caller approved changes whose apply never recorded an outcome (the bot
// stopped in between; StuckApproved), to be finished with
// commands.Executor.ResumeApproved. Each workspace keeps
// a pending index and a capped history of its last 50 decided changes.
// Policies (NewPolicies) stores each workspace's approval policy. The key
// layout and lifetimes are documented on Changes.
//
// The plumbing: a Store that wraps a go-redis client (or an embedded
// miniredis when no REDIS_URL is configured), a prefixed key/value API used
// by the token store, and the workspace key scheme (WorkspaceKey). Every
// Redis failure surfaces as an error wrapping ErrUnavailable within the
// store's operation timeout, and a Store reconnects by itself once Redis is
// back. Changes' scripts name keys they do not declare (the sweeper finds a
// change's workspace indexes from the change), so they need one Redis
// server, not a cluster; Open only ever connects to one.
//
// This package owns Flagbot's only imports of github.com/redis/go-redis and
// github.com/alicebob/miniredis: no other package may import them (other
// packages' tests use NewTestStore and NewRealTestStore instead). It imports
// internal/commands for the contracts it implements (and, through it,
// internal/ld's types), so internal/commands must never import it. It must
// not import slack-go.
package approvals
