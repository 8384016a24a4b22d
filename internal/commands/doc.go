// Package commands is Flagbot's core: it parses `/flag` text into typed
// commands, runs them against LaunchDarkly and the workspace store, and
// returns results as plain data for a transport to render.
//
// It knows nothing of Slack or Redis: it declares the small interfaces it
// needs (LaunchDarkly, Workspaces, Admins) and receives implementations from
// cmd/bot. It may import internal/ld for LaunchDarkly's data types and
// internal/secret; it must not import slack-go, go-redis or any transport.
package commands
