package slackapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func mrkdwn(s string) *slack.TextBlockObject {
	return &slack.TextBlockObject{Type: slack.MarkdownType, Text: s}
}

func plainText(s string) *slack.TextBlockObject {
	emoji := true
	return &slack.TextBlockObject{Type: slack.PlainTextType, Text: s, Emoji: &emoji}
}

func textObjects(mds []string) []*slack.TextBlockObject {
	out := make([]*slack.TextBlockObject, len(mds))
	for i, s := range mds {
		out[i] = mrkdwn(s)
	}
	return out
}

func headerBlock(s string) slack.Block {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		s = "…"
	}
	return slack.NewHeaderBlock(plainText(s))
}

func sectionBlock(md string) slack.Block { return slack.NewSectionBlock(mrkdwn(md), nil, nil) }

func fieldsBlock(mds ...string) slack.Block {
	return slack.NewSectionBlock(nil, textObjects(mds), nil)
}

func contextBlock(mds ...string) slack.Block {
	els := make([]slack.MixedElement, len(mds))
	for i, s := range mds {
		els[i] = mrkdwn(s)
	}
	return slack.NewContextBlock("", els...)
}

func textMessage(md string) Message {
	return Message{Text: md, Blocks: []slack.Block{sectionBlock(md)}}
}

// listSections packs list lines into sections, noting any left out.
func listSections(lines []string) []slack.Block {
	shownLines := lines[:min(len(lines), maxListLines)]
	blocks, shown := packChunks(shownLines, "\n", maxListBlocks)
	if n := len(lines) - shown; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more, narrow your search.", n)))
	}
	return blocks
}

// packChunks joins chunks with sep into as few sections as the section text
// limit allows, using at most maxBlocks sections, and reports how many
// chunks it used. A chunk longer than a section is cut.
func packChunks(chunks []string, sep string, maxBlocks int) ([]slack.Block, int) {
	var (
		blocks []slack.Block
		b      strings.Builder
		n      int // runes in b
		used   int
	)
	for _, c := range chunks {
		c = truncMrkdwn(c, MaxSectionText)
		cl := runeLen(c)
		if b.Len() > 0 && n+len(sep)+cl > MaxSectionText {
			if len(blocks)+1 >= maxBlocks {
				break
			}
			blocks = append(blocks, sectionBlock(b.String()))
			b.Reset()
			n = 0
		}
		if b.Len() > 0 {
			b.WriteString(sep)
			n += len(sep)
		}
		b.WriteString(c)
		n += cl
		used++
	}
	if b.Len() > 0 {
		blocks = append(blocks, sectionBlock(b.String()))
	}
	return blocks, used
}

// esc escapes user or LaunchDarkly text for mrkdwn: the three control
// characters (so it cannot form mentions or links) and the formatting
// markers * _ ~ ` where they could open or close formatting (so a flag
// named "*x*" shows its asterisks). Slack has no escape for markers, so a
// zero-width space goes between a marker and the text it would format;
// markers inside words (my_flag_key) are left alone.
func esc(s string) string {
	s = escAmp(s)
	if !strings.ContainsAny(s, "*_~`") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 12)
	runes := []rune(s)
	for i, r := range runes {
		if r != '*' && r != '_' && r != '~' && r != '`' {
			b.WriteRune(r)
			continue
		}
		if r == '`' {
			b.WriteString(zwsp + "`" + zwsp)
			continue
		}
		prevWord := i > 0 && isWordRune(runes[i-1])
		prevSpace := i == 0 || unicode.IsSpace(runes[i-1])
		nextWord := i+1 < len(runes) && isWordRune(runes[i+1])
		nextSpace := i+1 == len(runes) || unicode.IsSpace(runes[i+1])
		switch {
		case prevWord && nextWord:
			b.WriteRune(r) // inside a word: never formats
		case !nextSpace && !prevWord:
			b.WriteString(string(r) + zwsp) // could open
		case !prevSpace && !nextWord:
			b.WriteString(zwsp + string(r)) // could close
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// zwsp is the zero-width space esc puts between a formatting marker and the
// text it would format.
const zwsp = "\u200b"

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// escAmp escapes only mrkdwn's control characters & < >: for text inside
// code spans and for URLs, where formatting markers mean nothing.
func escAmp(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// oneLine escapes s and folds its whitespace (newlines included) to single
// spaces.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\n\r\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return esc(s)
}

// code renders s as an inline code span: escaped, on one line, with
// backticks (which would end the span) replaced.
func code(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	writeCode(&b, s)
	return b.String()
}

func writeCode(b *strings.Builder, s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		b.WriteString("_(none)_")
		return
	}
	if strings.ContainsAny(s, "\n\r\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	b.WriteByte('`')
	b.WriteString(strings.ReplaceAll(escAmp(s), "`", "'"))
	b.WriteByte('`')
}

// nameSuffix returns " — name" unless name is empty or repeats key.
func nameSuffix(name, key string) string {
	name = strings.TrimSpace(name)
	if name == "" || name == key {
		return ""
	}
	return " — " + oneLine(truncPlain(name, maxNameRunes))
}

func nameOr(name, fallback string) string {
	if strings.TrimSpace(name) != "" {
		return name
	}
	return fallback
}

func tagList(tags []string) string {
	var b strings.Builder
	writeTags(&b, tags)
	return b.String()
}

func writeTags(b *strings.Builder, tags []string) {
	for _, t := range tags[:min(len(tags), maxTags)] {
		b.WriteByte(' ')
		writeCode(b, t)
	}
	if n := len(tags) - maxTags; n > 0 {
		fmt.Fprintf(b, " +%d", n)
	}
}

func tagSuffix(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return " ·" + tagList(tags)
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func joinOr(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func memberName(m *commands.Member) string {
	if n := strings.TrimSpace(m.FirstName + " " + m.LastName); n != "" {
		return oneLine(n)
	}
	return oneLine(m.Email)
}

// mention formats a Slack user ID as a mention; anything that does not look
// like a user ID is shown escaped instead.
func mention(id string) string {
	if id == "" {
		return "someone"
	}
	if len(id) > 32 || (id[0] != 'U' && id[0] != 'W') {
		return esc(id)
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return esc(id)
		}
	}
	return "<@" + id + ">"
}

// slackDate formats t with Slack's date token, shown in each reader's time
// zone, with a UTC fallback for clients that cannot.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// safeURL returns u if it is an absolute http(s) URL, else "".
func safeURL(u string) string {
	l := strings.ToLower(u)
	if (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")) && !strings.ContainsAny(u, " \n") {
		return u
	}
	return ""
}

// siteURL joins a host-relative LaunchDarkly UI link to base.
func siteURL(base, href string) string {
	if href == "" {
		return ""
	}
	if u := safeURL(href); u != "" {
		return u
	}
	b := safeURL(base)
	if b == "" || !strings.HasPrefix(href, "/") || strings.HasPrefix(href, "//") {
		return ""
	}
	return strings.TrimRight(b, "/") + href
}

// link formats a mrkdwn link; the URL is escaped and may not contain "|".
func link(u, text string) string {
	u = strings.ReplaceAll(escAmp(u), "|", "%7C")
	return "<" + u + "|" + oneLine(text) + ">"
}

func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	if !bytes.ContainsAny(raw, " \t\r\n") {
		return string(raw) // already compact: the usual case
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// md renders the core's structured text as mrkdwn: plain text escaped (esc),
// code spans as code, mentions as mentions (when the ID looks like one;
// else escaped), links as links (http and https only; else their label).
// Only here does the core's text become markup.
func md(t commands.Text) string {
	var b strings.Builder
	for _, s := range t {
		switch s.Kind {
		case commands.SpanCode:
			writeCode(&b, s.Text)
		case commands.SpanStrong:
			if strings.TrimSpace(s.Text) != "" {
				b.WriteString("*" + strings.TrimSpace(esc(s.Text)) + "*")
			}
		case commands.SpanUser:
			b.WriteString(mention(s.Text))
		case commands.SpanGroup:
			if slackID(s.Text, "S") {
				b.WriteString("<!subteam^" + s.Text + ">")
			} else {
				b.WriteString(esc(s.Text))
			}
		case commands.SpanChannel:
			if slackID(s.Text, "C", "G") {
				b.WriteString("<#" + s.Text + ">")
			} else {
				b.WriteString(esc(s.Text))
			}
		case commands.SpanLink:
			if u := safeURL(s.URL); u != "" {
				label := s.Text
				if label == "" {
					label = u
				}
				b.WriteString(link(u, label))
			} else {
				b.WriteString(esc(s.Text))
			}
		default:
			b.WriteString(esc(s.Text))
		}
	}
	return b.String()
}

// slackID reports whether id looks like a Slack ID starting with one of
// prefixes: upper-case letters and digits, at most 32 characters.
func slackID(id string, prefixes ...string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	ok := false
	for _, p := range prefixes {
		if strings.HasPrefix(id, p) {
			ok = true
		}
	}
	if !ok {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
