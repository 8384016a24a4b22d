// Package approvals holds Flagbot's two-person rule, on Redis.
//
// Changes (NewChanges) implements commands.Changes. A requested flag change
// is stored pending with an expiry; it is applied only after enough people
// other than the requester approve it. Every state operation (Create,
// Approve, Reject, Cancel, Finish) is one Lua script, so one Redis round
// trip and one atomic step: with any number of concurrent clicks on any
// number of bot replicas, exactly one Approve call sees approvedNow, and
// exactly one Finish records the outcome. An expired change cannot be
// approved; a Sweeper (NewSweeper), run by every replica but taking a Redis
// lock so that one sweeps at a time, marks expired changes (ExpireDue) and
// hands each to the caller exactly once to update its Slack message. The
// same sweep hands the caller approved changes whose apply never recorded an
// outcome (the bot stopped in between; StuckApproved), to be finished with
// commands.Executor.ResumeApproved. ExpireDue and StuckApproved are for the
// sweeper only, so they are methods of *Changes and not part of
// commands.Changes. Each workspace keeps a pending index and a capped
// history of its last 50 decided changes. Policies (NewPolicies) stores each
// workspace's approval policy. The key layout and lifetimes are documented
// on Changes; testdata/redis-layout.golden pins them.
//
// A workspace that joins an Enterprise Grid org changes keys (Slack sends an
// enterprise ID from then on): Policies moves its policy on first read, and
// GridChanges (NewGridChanges, wrapped around Changes for the executor)
// finds the changes it requested before under the old keys, so they stay
// decidable where they are.
//
// When Flagbot is uninstalled from a workspace, Policies.Forget and
// Changes.Forget (forget.go) remove its policy and cancel its pending
// changes; package uninstall calls them.
//
// It stands on internal/redisstore, which owns the Redis connection, the
// workspace key scheme (redisstore.WorkspaceKey) and script loading: every
// Redis failure comes back as an error wrapping redisstore.ErrUnavailable.
// The scripts name keys they do not declare (the sweeper finds a change's
// workspace indexes from the change), so they need one Redis server, not a
// cluster.
//
// This package must not import github.com/redis/go-redis,
// github.com/alicebob/miniredis (its tests use redisstore/redistest) or
// slack-go. It imports internal/commands for the contracts it implements
// (and, through it, internal/ld's types), so internal/commands must never
// import it.
package approvals
