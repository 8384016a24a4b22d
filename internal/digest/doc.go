// Package digest posts scheduled summaries of LaunchDarkly's audit log to
// Slack channels (`/flag digest ...`).
//
// It holds the schedule computation (Next), the building of a digest from
// audit entries (Build, a pure function), and the scheduler (Service), which
// also implements commands.Digests for the executor. Subscriptions, next-run
// times, per-run claims and cursors live in Redis through the Store
// interface, which RedisStore implements on internal/redisstore (the key
// layout is documented on RedisStore and pinned by
// testdata/redis-layout.golden); Slack is reached through the small Slack
// interface, which internal/slackapp implements (slackapp.DigestSlack).
//
// It is a package of its own, rather than part of commands or slackapp,
// because it owns a long-running loop and the exactly-once bookkeeping that
// neither the command executor nor the Slack transport should know about.
// It must not import slack-go, go-redis or miniredis (nor internal/slackapp
// or internal/approvals): the Service reaches Slack and Redis only through
// the interfaces declared here (Slack, Store); Slack's implementation lives
// in slackapp, and RedisStore (redisstore.go, the only non-test file that
// imports internal/redisstore) is Redis's. This keeps the scheduling rules
// testable with fakes and with the real implementations alike.
// It imports time/tzdata so IANA time zones work in a scratch container.
//
// Wiring (cmd/bot run):
//
//	digests := digest.New(digest.NewRedisStore(store, log), tokens, clients, slackapp.NewDigestSlack(slackClients, slackOpts),
//		digest.Options{Logger: log, BaseURL: cfg.LDBaseURL})
//	exec := commands.NewExecutor(..., digests, commands.Options{...})
//	go digests.Run(ctx) // ticks every 30 s until ctx ends
//
// The Slack interface names the workspace of every call, so that each
// digest is posted with the bot token of its workspace's installation.
// RedisStore.Forget removes a workspace's subscriptions when Flagbot is
// uninstalled (package uninstall).
//
// Every replica runs the loop; Redis makes each run happen once. The
// subscription commands need commands.Actor.ChannelID set from the slash
// command, and slackapp.RenderResult renders their results through
// slackapp.RenderDigestResult.
//
// Exactly once: each due run is claimed with a lease (SET NX) that is
// refused once the run for that due time is marked done; the cursor (the
// window's end plus the newest reported entry and the IDs at its
// millisecond, and the entries reported in the last Options.Lookback, so
// entries that reach the audit log late are reported once) moves, the run
// is marked done and the next run scheduled in one atomic step only after
// Slack accepted the post; it never moves back. A run ends within three
// quarters of its lease, and recording a posted run is retried. A failed post releases
// the lease, so the next tick of any replica retries it. After downtime one
// digest covers the gap, capped at Options.MaxGap (7 days), and says so.
package digest
