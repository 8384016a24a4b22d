package slackapp

import (
	"fmt"
	"strings"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/slack-go/slack"
)

func auditWho(e commands.AuditEntry) string {
	if e.Member != nil {
		if who := memberName(e.Member); who != "" {
			return who
		}
	}
	if e.Token != nil && e.Token.Name != "" {
		return "token *" + oneLine(e.Token.Name) + "*"
	}
	return "LaunchDarkly"
}

func renderAudit(r commands.AuditResult) Message {
	q := r.Query
	var scope []string
	if q.Project != "" {
		scope = append(scope, "project "+code(q.Project))
	}
	if q.Flag != "" {
		scope = append(scope, "flag "+code(q.Flag))
	}
	if q.Env != "" {
		scope = append(scope, "environment "+code(q.Env))
	}
	if !r.Since.IsZero() {
		scope = append(scope, "since "+slackDate(r.Since))
	}
	if len(r.Entries) == 0 {
		s := "Nothing in the audit log"
		if len(scope) > 0 {
			s += " for " + strings.Join(scope, ", ")
		}
		return textMessage(s + ".")
	}
	chunks := make([]string, 0, len(r.Entries))
	for _, e := range r.Entries[:min(len(r.Entries), maxListLines)] {
		who := auditWho(e)
		title := mdToMrkdwn(truncPlain(strings.TrimSpace(e.Title), maxAuditTitle), r.BaseURL)
		if title == "" {
			title = strings.TrimSpace(who + " " + oneLine(e.TitleVerb) + " " + oneLine(e.Name))
		}
		lines := []string{title}
		desc := e.Description
		if desc == "" {
			desc = e.ShortDescription
		}
		if d := strings.TrimSpace(desc); d != "" {
			lines = append(lines, mdToMrkdwn(truncPlain(d, maxAuditDesc), r.BaseURL))
		}
		if strings.Contains(title, who) { // LaunchDarkly's titles usually name the member
			lines = append(lines, slackDate(e.Date))
		} else {
			lines = append(lines, "by "+who+" · "+slackDate(e.Date))
		}
		if c := strings.TrimSpace(e.Comment); c != "" {
			for _, l := range strings.Split(truncPlain(c, maxComment), "\n") {
				lines = append(lines, "> "+esc(l))
			}
		}
		chunks = append(chunks, strings.Join(lines, "\n"))
	}
	sections, shown := packChunks(chunks, "\n\n", maxListBlocks)
	info := countNoun(shown, "entry", "entries") + ", newest first"
	if len(scope) > 0 {
		info = strings.Join(scope, " · ") + " · " + info
	}
	blocks := []slack.Block{headerBlock("Audit log"), contextBlock(capitalize(info))}
	blocks = append(blocks, sections...)
	if n := len(r.Entries) - shown; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more, narrow your search.", n)))
	}
	return Message{Text: "Audit log: " + countNoun(len(r.Entries), "entry", "entries"), Blocks: blocks}
}

// mdToMrkdwn converts LaunchDarkly's Markdown (audit titles and
// descriptions) to Slack mrkdwn: [text](url) becomes <url|text>, with
// host-relative URLs joined to base and anything but http, https and mailto
// dropped (the text stays); **bold** becomes *bold*; &, < and > are escaped
// everywhere else so the text cannot inject mentions or links.
func mdToMrkdwn(src, base string) string {
	var b strings.Builder
	b.Grow(len(src) + 16)
	for i := 0; i < len(src); {
		switch c := src[i]; c {
		case '[':
			if text, url, n, ok := parseMDLink(src[i:]); ok {
				if u := linkTarget(url, base); u != "" {
					b.WriteString(link(u, text))
				} else {
					b.WriteString(esc(text))
				}
				i += n
				continue
			}
			b.WriteByte(c)
		case '*':
			if strings.HasPrefix(src[i:], "**") {
				b.WriteByte('*')
				i += 2
				continue
			}
			b.WriteByte(c)
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
		i++
	}
	return b.String()
}

// parseMDLink reads "[text](url)" at the start of s and returns its parts
// and length. Brackets do not nest; neither part may span lines and the URL
// has no spaces.
func parseMDLink(s string) (text, url string, n int, ok bool) {
	end := strings.IndexAny(s[1:], "[]\n")
	if end < 0 || s[1+end] != ']' {
		return "", "", 0, false
	}
	text = s[1 : 1+end]
	rest := s[2+end:]
	if !strings.HasPrefix(rest, "(") {
		return "", "", 0, false
	}
	paren, depth := -1, 0 // balanced parentheses may appear in the URL, as in CommonMark
	for j := 1; j < len(rest) && paren < 0; j++ {
		switch rest[j] {
		case ' ', '\n':
			return "", "", 0, false
		case '(':
			depth++
		case ')':
			if depth == 0 {
				paren = j
			}
			depth--
		}
	}
	if paren < 0 {
		return "", "", 0, false
	}
	url = rest[1:paren]
	if text == "" {
		text = url
	}
	return text, url, 2 + end + paren + 1, true
}

// linkTarget resolves a Markdown link target against base and returns it if
// it is http(s) or mailto, else "".
func linkTarget(u, base string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		return siteURL(base, u)
	}
	if strings.HasPrefix(strings.ToLower(u), "mailto:") {
		return u
	}
	return safeURL(u)
}
