package slackapp

import "github.com/flagbot/flagbot/internal/commands"

func renderNotify(r commands.NotifyResult) Message {
	switch {
	case r.Off && r.Changed:
		return textMessage("Done: Flagbot won't send you direct messages any more. Requests and emergency changes are still posted in their channels. `/flag notify on` turns them back on.")
	case r.Off:
		return textMessage("Flagbot's direct messages to you are off. `/flag notify on` turns them back on.")
	case r.Changed:
		return textMessage("Done: Flagbot tells you again in a direct message about requests you may approve and emergency changes that need a sign-off.")
	}
	return textMessage("Flagbot's direct messages to you are on: requests you may approve, and emergency changes that need a sign-off. `/flag notify off` turns them off.")
}
