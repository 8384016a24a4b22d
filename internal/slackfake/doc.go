// Package slackfake is a fake Slack on a loopback address: one HTTP server
// that speaks Socket Mode over a WebSocket, answers the Web API methods
// Flagbot calls, and accepts response_url posts. It is a product package:
// end-to-end tests use it, and `flagbot playground` runs the real bot
// against it.
//
// A test starts it with New (closed through t.Cleanup), a program with
// Start (and Close). Point the real bot at APIURL with the app and bot
// tokens from Options, push slash commands and interactions through the
// socket, and observe what the bot sent back: acks (WaitAck), Web API calls
// (WaitCall), response_url posts (WaitResponse), and every byte the bot
// ever sent (AllTraffic). The fake enforces the Block Kit limits that Slack
// enforces (see limits.go), so rendering limits are tested for real.
//
// The fake also keeps what a Slack client would show (workspace.go):
// messages per conversation, ephemeral ones only for their user, edited in
// place by chat.update and replace_original; each user's modal stack
// (views.open, views.push, views.update, response_action) and App Home
// (views.publish); users (admins, members, guests, Slack Connect partners
// from another team), user groups and channels. A person's actions are
// built from that state (human.go): Compose (the message box; links on
// the domains set with SetUnfurlDomains send link_shared, and chat.unfurl
// shows the app's cards under them), Click (buttons, selects, overflow
// menus, inputs that dispatch, with the modal's state), SubmitView,
// CloseView, Suggest (an external select's block_suggestion round trip)
// and OpenHome. Changed and Version tell a page when to re-render.
//
// By default it is one workspace (TeamID) with one bot token
// (Options.BotToken) that may act anywhere. It can also host several
// workspaces and Enterprise Grid orgs, each with an installation of its own
// (install.go): installed directly (Install) or through Slack's OAuth flow
// (the authorize page, then oauth.v2.access, which checks the app's client
// ID and secret, the single-use code and the redirect URL). A token of such
// an installation is refused outside it, as Slack would: channel_not_found,
// user_not_found, invalid_trigger_id, and token_revoked once uninstalled.
// Envelopes carry the workspace's team and org (is_enterprise_install for
// an org-wide installation), and Event and Uninstall send Events API
// envelopes (tokens_revoked, app_uninstalled) with their authorizations.
//
// Everything it knows about the wire format comes from Slack's documentation
// and from reading slack-go; it speaks plain JSON through small structs and
// maps. It must not import slack-go (or any Flagbot package): the fake checks
// the bot's Slack client, so it cannot share its code. gorilla/websocket is
// imported here and nowhere else in Flagbot. It does not import testing, so
// the bot's binary can link it.
package slackfake
