// Package digest posts scheduled summaries of LaunchDarkly's audit log to
// Slack channels (`/flag digest ...`).
//
// It holds the schedule computation (Next), the building of a digest from
// audit entries (Build, a pure function), and the scheduler (Service), which
// also implements commands.Digests for the executor. Subscriptions, next-run
// times, per-run claims, intents and cursors live in Redis through the Store
// interface, which RedisStore implements on internal/redisstore (the key
// layout is documented on RedisStore and pinned by
// testdata/redis-layout.golden); Slack is reached through the small Slack
// interface, which internal/slackapp implements (slackapp.DigestSlack), and
// Flagbot's own change requests through Changes (approvals.Changes).
//
// It is a package of its own, rather than part of commands or slackapp,
// because it owns a long-running loop and the exactly-once bookkeeping that
// neither the command executor nor the Slack transport should know about.
// It must not import slack-go, go-redis or miniredis (nor internal/slackapp
// or internal/approvals): the Service reaches Slack, Redis and the change
// store only through the interfaces declared here (Slack, Store, Changes);
// Slack's implementation lives in slackapp, and RedisStore (redisstore.go,
// the only non-test file that imports internal/redisstore) is Redis's. This
// keeps the scheduling rules testable with fakes and with the real
// implementations alike. Who may subscribe, remove, post on demand and see
// which subscription is decided in the core (commands/digest.go), from
// what this package reports about channels (Service.Channel, MemberOf).
// It imports time/tzdata so IANA time zones work in a scratch container.
//
// Wiring (cmd/bot run):
//
//	digests := digest.New(digest.NewRedisStore(store, log), tokens, clients, slackapp.NewDigestSlack(slackClients, slackOpts),
//		changes, digest.Options{Logger: log, BaseURL: cfg.LDBaseURL})
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
// One clock: windows end, due runs are picked and next runs computed at
// Redis's time (Store.Time, TIME), never at the replica's, so a replica
// whose clock is ahead skips nothing and one behind repeats nothing
// (Options.Clock replaces it in tests).
//
// Exactly once: each due run is claimed with a lease (SET NX) that is
// refused once the run for that due time is marked done. Before posting,
// the run stores an intent under its lease (its run ID and the cursor the
// post reports), and the post carries the subscription and run ID as
// message metadata. The cursor (the window's end plus the newest reported
// entry and the IDs at its millisecond, and the entries reported in the
// last Options.Lookback, so entries that reach the audit log late are
// reported once) moves, the intent goes, the run is marked done and the
// next run scheduled in one atomic step only after Slack accepted the post;
// the cursor never moves back. A run that finds an intent left behind (its
// replica died, or lost Redis, after Slack accepted the post) first asks
// Slack for that post (Slack.FindDigest) and, if it is there, records it
// instead of posting again. A run ends within three quarters of its lease,
// and recording a posted run is retried. A failed post releases the lease,
// so the next tick of any replica retries it. After downtime one digest
// covers the gap, capped at Options.MaxGap (7 days), and says so.
//
// "via Flagbot": a change is labelled as Flagbot's only when the request
// its comment names is in the workspace's change store and matches it
// (Window.Changes); comment text alone earns nothing.
package digest
