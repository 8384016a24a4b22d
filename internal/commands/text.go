package commands

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Text is user-facing text as the core writes it: a sequence of spans, each
// plain text, a code span, a mention or a link. The core never writes chat
// markup; a transport turns Text into its own (slackapp into mrkdwn), escaping
// what people and LaunchDarkly typed and never an intended mention.
type Text []Span

// SpanKind says how a span is meant to be shown.
type SpanKind uint8

// The kinds of span.
const (
	SpanPlain   SpanKind = iota // Text as is: escaped by the transport
	SpanCode                    // Text in a code span: keys, commands, ids
	SpanStrong                  // Text emphasised (bold)
	SpanUser                    // Text is a Slack user ID, shown as a mention
	SpanGroup                   // Text is a Slack user group ID, shown as a mention
	SpanChannel                 // Text is a Slack channel ID, shown as a channel link
	SpanLink                    // URL with Text as its label
)

var spanKindNames = [...]string{
	SpanPlain:   "plain",
	SpanCode:    "code",
	SpanStrong:  "strong",
	SpanUser:    "user",
	SpanGroup:   "group",
	SpanChannel: "channel",
	SpanLink:    "link",
}

// String returns the kind's stable name, used in stored text.
func (k SpanKind) String() string {
	if int(k) < len(spanKindNames) {
		return spanKindNames[k]
	}
	return "span(" + strconv.Itoa(int(k)) + ")"
}

// Span is one piece of Text.
type Span struct {
	Kind SpanKind
	Text string
	URL  string // SpanLink only
}

// Plain returns a plain span.
func Plain(s string) Span { return Span{Kind: SpanPlain, Text: s} }

// Code returns a code span, for keys, commands and ids.
func Code(s string) Span { return Span{Kind: SpanCode, Text: s} }

// Strong returns an emphasised span.
func Strong(s string) Span { return Span{Kind: SpanStrong, Text: s} }

// User returns a mention of the Slack user with ID id.
func User(id string) Span { return Span{Kind: SpanUser, Text: id} }

// Group returns a mention of the Slack user group with ID id.
func Group(id string) Span { return Span{Kind: SpanGroup, Text: id} }

// Channel returns a reference to the Slack channel with ID id.
func Channel(id string) Span { return Span{Kind: SpanChannel, Text: id} }

// Link returns a link to url labelled label.
func Link(url, label string) Span { return Span{Kind: SpanLink, Text: label, URL: url} }

// Textf builds Text from a format written the way the core's messages read:
// literal text, with backticks marking code spans. Each %s, %d or %v takes
// the next argument: a Span or Text is inserted as it is (a mention stays a
// mention), anything else becomes its fmt.Sprint text, inside the current
// code span if the placeholder sits between backticks, else as plain text.
// Arguments are data, never parsed: a backtick or '<' in an argument is
// shown as typed. %% writes a percent sign. Extra arguments are appended
// as plain text; missing ones write nothing.
func Textf(format string, args ...any) Text {
	var (
		out    Text
		buf    strings.Builder
		inCode bool
		next   int
	)
	flush := func() {
		if buf.Len() == 0 {
			return
		}
		kind := SpanPlain
		if inCode {
			kind = SpanCode
		}
		out = out.add(Span{Kind: kind, Text: buf.String()})
		buf.Reset()
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '`':
			flush()
			inCode = !inCode
		case c == '%' && i+1 < len(format) && format[i+1] == '%':
			buf.WriteByte('%')
			i++
		case c == '%' && i+1 < len(format) && strings.IndexByte("sdvq", format[i+1]) >= 0:
			verb := format[i+1]
			i++
			if next >= len(args) {
				continue
			}
			arg := args[next]
			next++
			switch a := arg.(type) {
			case Span:
				flush()
				out = out.add(a)
			case Text:
				flush()
				for _, s := range a {
					out = out.add(s)
				}
			default:
				if verb == 'q' {
					fmt.Fprintf(&buf, "%q", a)
				} else {
					fmt.Fprint(&buf, a)
				}
			}
		default:
			buf.WriteByte(c)
		}
	}
	flush()
	for _, a := range args[min(next, len(args)):] {
		out = out.add(Plain(" " + fmt.Sprint(a)))
	}
	return out
}

// Notation reads text written in the core's notation with no arguments:
// backticks mark code spans (help summaries, fixed messages).
func Notation(s string) Text { return Textf(strings.ReplaceAll(s, "%", "%%")) }

// Append returns t followed by the spans of more.
func (t Text) Append(more ...Span) Text {
	out := make(Text, 0, len(t)+len(more))
	out = append(out, t...)
	for _, s := range more {
		out = out.add(s)
	}
	return out
}

// Join returns the texts joined by sep.
func Join(texts []Text, sep string) Text {
	var out Text
	for i, t := range texts {
		if i > 0 && sep != "" {
			out = out.add(Plain(sep))
		}
		for _, s := range t {
			out = out.add(s)
		}
	}
	return out
}

// add appends s, merging it into the last span when both are plain or both
// code: the result is the same text, in fewer spans.
func (t Text) add(s Span) Text {
	if s.Text == "" && s.Kind != SpanLink {
		return t
	}
	if n := len(t); n > 0 && t[n-1].Kind == s.Kind && (s.Kind == SpanPlain || s.Kind == SpanCode) {
		t[n-1].Text += s.Text
		return t
	}
	return append(t, s)
}

// IsZero reports whether t holds no text.
func (t Text) IsZero() bool { return len(t) == 0 }

// String writes t in the notation its format used: code spans in backticks,
// mentions as <@U…>, <!subteam^…> and <#C…>, links as "label (url)". It is
// for logs, error strings, LaunchDarkly comments and tests; transports
// render Text themselves.
func (t Text) String() string {
	var b strings.Builder
	for _, s := range t {
		switch s.Kind {
		case SpanCode:
			b.WriteString("`" + s.Text + "`")
		case SpanUser:
			b.WriteString("<@" + s.Text + ">")
		case SpanGroup:
			b.WriteString("<!subteam^" + s.Text + ">")
		case SpanChannel:
			b.WriteString("<#" + s.Text + ">")
		case SpanLink:
			if s.Text != "" && s.Text != s.URL {
				b.WriteString(s.Text + " (" + s.URL + ")")
			} else {
				b.WriteString(s.URL)
			}
		default:
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

// PlainString writes t without any notation: code spans without backticks,
// mentions as their IDs prefixed with @ or #. For places that take no
// markup at all (LaunchDarkly comments, plain-text fields).
func (t Text) PlainString() string {
	var b strings.Builder
	for _, s := range t {
		switch s.Kind {
		case SpanUser, SpanGroup:
			b.WriteString("@" + s.Text)
		case SpanChannel:
			b.WriteString("#" + s.Text)
		case SpanLink:
			if s.Text != "" && s.Text != s.URL {
				b.WriteString(s.Text + " (" + s.URL + ")")
			} else {
				b.WriteString(s.URL)
			}
		default:
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

// storedSpan is a Span as kept in the state store.
type storedSpan struct {
	K string `json:"k"`
	T string `json:"t,omitempty"`
	U string `json:"u,omitempty"`
}

// MarshalJSON stores t as a list of spans.
func (t Text) MarshalJSON() ([]byte, error) {
	out := make([]storedSpan, len(t))
	for i, s := range t {
		out[i] = storedSpan{K: s.Kind.String(), T: s.Text, U: s.URL}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON wrote, and also the single string
// that records written before structured text held: Slack mrkdwn, read
// back with LegacyText.
func (t *Text) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = LegacyText(s)
		return nil
	}
	var in []storedSpan
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	out := make(Text, 0, len(in))
	for _, s := range in {
		kind := SpanPlain
		for k, name := range spanKindNames {
			if name == s.K {
				kind = SpanKind(k)
			}
		}
		out = append(out, Span{Kind: kind, Text: s.T, URL: s.U})
	}
	*t = out
	return nil
}

// LegacyText reads text stored before the core wrote structured text: the
// mrkdwn of an old change outcome. Backtick spans become code, <@U…>,
// <!subteam^…> and <#C…> become mentions, <url|label> links, and &lt; &gt;
// &amp; are undone; everything else is plain.
func LegacyText(s string) Text {
	unescape := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace
	var out Text
	for s != "" {
		i := strings.IndexAny(s, "`<")
		if i < 0 {
			out = out.add(Plain(unescape(s)))
			break
		}
		out = out.add(Plain(unescape(s[:i])))
		s = s[i:]
		if s[0] == '`' {
			j := strings.IndexByte(s[1:], '`')
			if j < 0 {
				out = out.add(Plain(unescape(s)))
				break
			}
			out = out.add(Code(unescape(s[1 : 1+j])))
			s = s[2+j:]
			continue
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			out = out.add(Plain(unescape(s)))
			break
		}
		inner := s[1:j]
		s = s[j+1:]
		switch {
		case strings.HasPrefix(inner, "@"):
			out = out.add(User(strings.SplitN(inner[1:], "|", 2)[0]))
		case strings.HasPrefix(inner, "!subteam^"):
			out = out.add(Group(strings.SplitN(inner[len("!subteam^"):], "|", 2)[0]))
		case strings.HasPrefix(inner, "#"):
			out = out.add(Channel(strings.SplitN(inner[1:], "|", 2)[0]))
		case strings.HasPrefix(inner, "!"):
			// A date or special mention: keep its fallback text.
			_, label, _ := strings.Cut(inner, "|")
			out = out.add(Plain(unescape(label)))
		default:
			u, label, _ := strings.Cut(inner, "|")
			if label == "" {
				label = u
			}
			out = out.add(Link(unescape(u), unescape(label)))
		}
	}
	return out
}
