// Package slackapp is Flagbot's Slack transport: it runs the Socket Mode
// client, routes `/flag`, button clicks, modal submissions and the
// uninstall events (routes.go), acknowledges every envelope before doing
// any work, hands parsed commands to the core (package commands) and
// renders the results to Block Kit with pure functions (render.go).
//
// Every Web API call goes out with the bot token of the installation that
// serves the envelope's workspace: Clients (clients.go) resolves it through
// Installations (*tokenstore.Store when workspaces install Flagbot through
// OAuth; SingleWorkspace for one SLACK_BOT_TOKEN) and caches one
// *slack.Client per installation. In a handler that is a.client(ctx, ws);
// App, Directory and DigestSlack share one Clients. The Installer
// (install.go) serves the OAuth install pages of a multi-workspace
// deployment on their own listener.
//
// It is the only package that imports github.com/slack-go/slack. It must not
// import go-redis or talk to LaunchDarkly directly: it sees LaunchDarkly and
// the state store only through the Executor interface.
package slackapp
