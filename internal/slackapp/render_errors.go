package slackapp

import (
	"errors"
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
)

// RenderError turns a failed command into a friendly message chosen by the
// error's kind (commands.KindOf). A user-facing Msg on a *commands.Error is
// used when set. Unclassified errors become "Something went wrong (ref …)";
// their text is never shown because it may hold internals. The caller logs
// err under the same ref.
func RenderError(err error, ref string) Message {
	var (
		usage *commands.UsageError
		cerr  *commands.Error
		ferr  *commands.FieldError
	)
	switch {
	case errors.As(err, &usage):
		return Fit(renderUsage(usage.Msg, usage.Help))
	case errors.As(err, &cerr):
		return withNotice(Fit(renderKind(cerr, ref)), cerr.Notice)
	case errors.As(err, &ferr) && !ferr.Msg.IsZero():
		return Fit(textMessage(md(ferr.Msg)))
	}
	return Fit(textMessage(somethingWrong("", ref)))
}

// unreadableText is what every command answers when the workspace's
// stored token cannot be decrypted with the configured encryption keys.
const unreadableText = "This workspace's stored LaunchDarkly token can't be read with the current encryption key; an admin must run `/flag connect`."

// kindDefaults is what each kind of error says when the core gave no
// message of its own.
func kindDefault(k commands.Kind) string {
	switch k {
	case commands.KindInvalid:
		return "That value isn't acceptable. Type `/flag help` to see what I can do."
	case commands.KindNotConnected:
		return "This workspace is not connected to LaunchDarkly yet. Ask an admin to run `/flag connect`."
	case commands.KindNotAdmin:
		return "Only workspace admins can do that."
	case commands.KindNotFound:
		return "I can't find that in LaunchDarkly."
	case commands.KindUnauthorized:
		return "LaunchDarkly rejected the stored token; it may have been revoked or expired. An admin should run `/flag connect` again."
	case commands.KindForbidden:
		return "The connected LaunchDarkly token isn't allowed to do that. An admin can connect a token with more access using `/flag connect`."
	case commands.KindConflict:
		return "LaunchDarkly reported a conflict: something changed while I was working. Look again and retry."
	case commands.KindRateLimited:
		return "LaunchDarkly is rate-limiting requests right now. Try again in a minute."
	case commands.KindUnavailable:
		return "LaunchDarkly isn't answering right now. Try again in a moment."
	case commands.KindStoreUnavailable:
		return "The state store is unavailable; nothing was changed. Try again in a minute."
	case commands.KindTimeout:
		return "That took too long, so I stopped. Try again in a moment."
	case commands.KindOutsider:
		return "Flagbot acts for the workspace that installed it, so people from other organisations can't use it."
	case commands.KindConfirm:
		return "That needs a confirmation first."
	case commands.KindUnreadable:
		return unreadableText
	}
	return ""
}

func renderKind(e *commands.Error, ref string) Message {
	msg := md(e.Msg)
	switch e.Kind {
	case commands.KindUsage:
		return renderUsage(e.Msg, commands.HelpEntry{})
	case commands.KindInternal:
		return textMessage(somethingWrong(msg, ref))
	}
	if msg == "" {
		msg = kindDefault(e.Kind)
	}
	if e.Kind == commands.KindNotFound {
		if n := len(e.Suggestions); n > 0 {
			sugg := make([]string, 0, maxSuggestions)
			for _, x := range e.Suggestions[:min(n, maxSuggestions)] {
				sugg = append(sugg, code(x))
			}
			msg += " Did you mean " + joinOr(sugg) + "?"
		}
	}
	return textMessage(msg)
}

func somethingWrong(msg, ref string) string {
	if msg == "" {
		msg = "Something went wrong"
	} else {
		msg = strings.TrimRight(msg, ".")
	}
	if ref == "" {
		return msg + "."
	}
	return msg + " (ref " + code(ref) + ")."
}

func renderUsage(msg commands.Text, h commands.HelpEntry) Message {
	first := strings.TrimSpace(md(msg))
	if first == "" {
		first = "I didn't understand that."
	}
	if h.Name == "" {
		return textMessage(first + "\nType `/flag help` to see what I can do.")
	}
	lines := []string{first, "Usage: " + code("/flag "+usageOf(h))}
	if len(h.Examples) > 0 {
		lines = append(lines, "Try "+code("/flag "+h.Examples[0]))
	}
	return textMessage(strings.Join(lines, "\n"))
}

// FieldErrors maps a *commands.FieldError in err's chain to the block IDs
// of the modal it belongs to (the connect modal, the delete confirmation),
// the shape of a response_action=errors answer. It returns false when err
// holds no FieldError for a known field. Field errors are plain text.
func FieldErrors(err error) (map[string]string, bool) {
	var fe *commands.FieldError
	if !errors.As(err, &fe) {
		return nil, false
	}
	var id BlockID
	switch fe.Field {
	case commands.FieldToken:
		id = BlockToken
	case commands.FieldProject:
		id = BlockProject
	case commands.FieldEnv:
		id = BlockEnv
	case commands.FieldConfirmKey:
		id = BlockConfirmKey
	default:
		return nil, false
	}
	msg := fe.Msg.PlainString()
	if msg == "" {
		msg = "LaunchDarkly did not accept this value."
	}
	return map[string]string{string(id): truncPlain(msg, 500)}, true
}
