// Package playground is the web page of `flagbot playground`: a Slack-like
// channel, modals, an "Acting as" switch and a LaunchDarkly panel, served
// with its live updates (Server-Sent Events) from one http.Handler, plus
// the demo data the playground seeds its fakes with.
//
// It reads and drives the two fakes only: slackfake (what a Slack client
// shows, and what a person does) and ldfake (the demo LaunchDarkly). The
// real bot runs beside it, unchanged, connected to the same fakes; this
// package never talks to the bot. Block Kit and mrkdwn are turned into HTML
// here (blockkit.go, mrkdwn.go), on the server, with every user string
// escaped. The page itself is plain HTML, CSS and JavaScript embedded with
// embed: no build step.
//
// It imports no Slack, Redis or browser library, and never testing.
package playground
