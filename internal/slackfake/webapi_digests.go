package slackfake

import (
	"encoding/json"
	"strconv"
)

// Private channels, channels without the bot, and channel history, for
// digests. A channel set with SetChannel may be Private, Archived or
// BotAbsent; the fake then answers as Slack answers a bot token with
// channels:read, groups:read, channels:history and groups:history:
//
//   - a private channel the bot is not in does not exist for it
//     (channel_not_found, from every method);
//   - the bot cannot post in, or read the history of, a public channel it
//     is not in (not_in_channel), nor post in an archived one;
//   - conversations.info says is_private and is_member;
//   - conversations.members and conversations.history come a page at a
//     time (limit, cursor); history is newest first, after oldest and
//     before latest, with each message's metadata only when
//     include_all_metadata is set.
//
// Channels never set keep the fake's defaults: public, the bot a member.

// pageLimit is conversations.members' and conversations.history's default
// page size.
const pageLimit = 100

// answerChannelsLocked answers for channels that are private, archived or
// without the bot, and conversations.history for any channel; ok is false
// for calls it leaves to answerLocked. s.mu must be held.
func (s *Server) answerChannelsLocked(call *Call) (rep reply, ok bool) {
	p := call.Params
	ch, known := s.ws.channels[p["channel"]]
	hidden := known && ch.Private && ch.BotAbsent
	switch call.Method {
	case "conversations.info":
		switch {
		case !known || (!ch.Private && !ch.Archived && !ch.BotAbsent):
			return reply{}, false
		case hidden:
			return errReply("channel_not_found"), true
		}
		return okReply(map[string]any{"channel": map[string]any{
			"id": ch.ID, "name": ch.Name, "is_channel": !ch.Private, "is_group": ch.Private, "is_private": ch.Private,
			"is_member": !ch.BotAbsent, "is_archived": ch.Archived,
			"is_ext_shared": ch.ExtShared, "is_shared": ch.ExtShared, "num_members": len(ch.Members),
		}}), true
	case "chat.postMessage":
		switch {
		case !known:
			return reply{}, false
		case hidden:
			return errReply("channel_not_found"), true
		case ch.BotAbsent:
			return errReply("not_in_channel"), true
		case ch.Archived:
			return errReply("is_archived"), true
		}
		return reply{}, false
	case "conversations.history":
		switch {
		case p["channel"] == "" || hidden:
			return errReply("channel_not_found"), true
		case known && ch.BotAbsent:
			return errReply("not_in_channel"), true
		}
		return s.historyLocked(p), true
	}
	return reply{}, false
}

// membersLocked answers conversations.members for a channel set with
// SetChannel, a page at a time. s.mu must be held.
func (s *Server) membersLocked(p map[string]string) reply {
	ch, ok := s.ws.channels[p["channel"]]
	if !ok || (ch.Private && ch.BotAbsent) {
		return errReply("channel_not_found")
	}
	members, next := page(append([]string{}, ch.Members...), p["cursor"], p["limit"])
	return okReply(map[string]any{"members": members, "response_metadata": map[string]any{"next_cursor": next}})
}

// historyLocked answers conversations.history: the channel's messages
// that everyone sees, newest first. s.mu must be held.
func (s *Server) historyLocked(p map[string]string) reply {
	inclusive := p["inclusive"] == "1" || p["inclusive"] == "true"
	metadata := p["include_all_metadata"] == "1" || p["include_all_metadata"] == "true"
	var msgs []map[string]any
	for i := len(s.ws.messages) - 1; i >= 0; i-- {
		m := s.ws.messages[i]
		if m.Channel != p["channel"] || m.VisibleTo != "" || !tsAfter(m.TS, p["oldest"], inclusive) ||
			(p["latest"] != "" && !tsAfter(p["latest"], m.TS, inclusive)) {
			continue
		}
		out := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "user": m.UserID}
		if m.UserID == BotUserID {
			out = botMessage(m.Text, m.TS)
		}
		if metadata && m.Metadata != nil {
			out["metadata"] = m.Metadata
		}
		msgs = append(msgs, out)
	}
	msgs, next := page(msgs, p["cursor"], p["limit"])
	return okReply(map[string]any{
		"messages": msgs, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

// tsAfter reports whether message timestamp ts is after bound (or at it,
// when inclusive); every ts is after an empty bound.
func tsAfter(ts, bound string, inclusive bool) bool {
	if bound == "" {
		return true
	}
	a, err1 := strconv.ParseFloat(ts, 64)
	b, err2 := strconv.ParseFloat(bound, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	return a > b || (inclusive && a == b)
}

// page returns the page of items a cursor (an offset, "" for the first)
// and limit (default pageLimit) select, and the next page's cursor ("" at
// the end).
func page[T any](items []T, cursor, limit string) ([]T, string) {
	start, _ := strconv.Atoi(cursor)
	n, err := strconv.Atoi(limit)
	if err != nil || n <= 0 {
		n = pageLimit
	}
	start = min(max(start, 0), len(items))
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next
}

// rawMetadata turns chat.postMessage's "metadata" parameter into JSON, nil
// when absent or not JSON.
func rawMetadata(p string) json.RawMessage {
	if p == "" || !json.Valid([]byte(p)) {
		return nil
	}
	return json.RawMessage(p)
}
