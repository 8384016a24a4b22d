// Package uninstall forgets what Flagbot keeps for a Slack installation
// once Slack says it is gone: app_uninstalled, or tokens_revoked for the
// bot token (an installation whose token is revoked is of no more use),
// and team_access_revoked for workspaces an org-wide installation no longer
// serves.
//
// It is the one place that knows which data an installation owns: the
// installation's bot token, and for each workspace it served the
// LaunchDarkly connection, the approval policy, the pending change
// requests (cancelled, not deleted: the history says why) and the digest
// subscriptions. Each package that owns some of it offers a Forget method
// for one workspace (tokenstore, approvals, digest); Service calls them in
// order. A workspace inside an Enterprise Grid org is forgotten under its
// org's keys and under the keys from before it joined the org. For an
// org-wide installation the org's workspaces are found by scanning the
// workspace key space (redisstore.Store.EnterpriseTeams); a workspace of
// the org with an installation of its own is left alone. Nothing of
// another installation is touched (a test on a real Redis compares every
// other key byte for byte).
//
// What is left on purpose: decided changes (and the cancelled ones) stay in
// the workspace's history until their retention ends, approved changes
// still being applied finish (the sweeper marks them failed without a
// connection), and markers that expire on their own (dedupe keys, digest
// run markers) expire. Slack messages are not edited: after an uninstall
// the bot can no longer reach the workspace.
//
// It imports internal/commands for the Workspace and Installation types and
// nothing that talks to Slack or Redis itself.
package uninstall
