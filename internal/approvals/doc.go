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
// commands.Changes. Each workspace keeps its own indexes and a capped
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
// The same store keeps what makes changes safer to make: a change that needs
// no approval (an exempt environment, a break-glass kill) is created
// approved under the caller's lease (CreateApproved); one with a time
// (ApplyAt) is approved into the scheduled state and claimed at its time by
// exactly one caller (ClaimScheduled: the same fenced lease as any approved
// change, so a replica that dies while applying it is resumed); Finish
// records how to undo an applied change and LinkUndo links an undo request
// to it with a compare-and-set; an applied kill waits for a SignOff. The
// sweeper hands out, each exactly once across replicas, pending changes
// halfway to their expiry (RemindDue) and the reminders and deadlines of
// unsigned kills (SignoffDue), and lists due scheduled changes
// (DueScheduled) to be claimed; Overdue lists a workspace's unsigned kills
// past their deadline for digests. Every new index is emptied as its
// changes move on, or expires.
//
// When Flagbot is uninstalled from a workspace, Policies.Forget and
// Changes.Forget (forget.go) remove its policy and cancel its pending
// changes; package uninstall calls them.
//
// It stands on internal/redisstore, which owns the Redis connection, the
// workspace key scheme (redisstore.WorkspaceKey) and script loading: every
// Redis failure comes back as an error wrapping redisstore.ErrUnavailable.
// It works on one server and on a Redis Cluster alike: every script
// declares every key it touches, all of one workspace and so of one slot;
// there is no index across workspaces, and the sweeps visit each
// workspace of changes:workspaces (see Changes for the layout and the cost
// per sweep). UpgradeIndexes (migrate.go) moves the cross-workspace
// indexes of the layout before hash tags into the workspaces' own.
//
// This package must not import github.com/redis/go-redis,
// github.com/alicebob/miniredis (its tests use redisstore/redistest) or
// slack-go. It imports internal/commands for the contracts it implements
// (and, through it, internal/ld's types), so internal/commands must never
// import it.
package approvals
