// Package slackapp is Flagbot's Slack transport: it runs the Socket Mode
// client, routes `/flag`, button clicks and modal submissions (routes.go),
// acknowledges every envelope before doing any work, hands parsed commands
// to the core (package commands) and renders the results to Block Kit with
// pure functions (render.go).
//
// It is the only package that imports github.com/slack-go/slack. It must not
// import go-redis or talk to LaunchDarkly directly: it sees LaunchDarkly and
// the state store only through the Executor interface.
package slackapp
