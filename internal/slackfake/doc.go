// Package slackfake is a fake Slack for loopback end-to-end tests: one
// httptest server on 127.0.0.1 that speaks Socket Mode over a WebSocket,
// answers the Web API methods Flagbot calls, and accepts response_url posts.
//
// A test starts it with New, points the real bot at APIURL (with the app and
// bot tokens from Options), pushes slash commands and interactions through the
// socket, and then observes what the bot sent back: acks (WaitAck), Web API
// calls (WaitCall), response_url posts (WaitResponse), and every byte the bot
// ever sent (AllTraffic). The fake enforces the Block Kit limits that Slack
// enforces (see limits.go), so rendering limits are tested for real.
//
// Everything it knows about the wire format comes from Slack's documentation
// and from reading slack-go; it speaks plain JSON through small structs and
// maps. It must not import slack-go (or any Flagbot package): the fake checks
// the bot's Slack client, so it cannot share its code. gorilla/websocket is
// imported here and nowhere else in Flagbot.
package slackfake
