package playground

import (
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Slack mrkdwn → HTML. Slack sends text with &, < and > escaped as &amp;,
// &lt; and &gt;; a literal < opens a special token (<@U1>, <#C1>,
// <!subteam^S1>, <!date^…|…>, <https://…|label>). The converter finds the
// code spans and tokens first, decodes the three entities exactly once in
// what is left, and HTML-escapes everything it outputs, so user text can
// never become markup.

// zwsp is the zero-width space the core puts next to a formatting character
// in user text so that it shows literally.
const zwsp = '\u200b'

// Names resolves the IDs in mentions to what Slack would show.
type Names struct {
	Users    map[string]string // user ID -> display name
	Groups   map[string]string // user group ID -> handle, without @
	Channels map[string]string // channel ID -> name, without #
}

// mrkdwn converts one mrkdwn text to HTML.
func (r *Renderer) mrkdwn(s string, n Names) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		// Code blocks: ```…``` anywhere, content literal.
		if strings.HasPrefix(s[i:], "```") {
			if end := strings.Index(s[i+3:], "```"); end >= 0 {
				code := strings.Trim(s[i+3:i+3+end], "\n")
				b.WriteString(`<pre class="sk-pre">`)
				b.WriteString(html.EscapeString(r.decode(code)))
				b.WriteString(`</pre>`)
				i += 3 + end + 3
				continue
			}
		}
		next := strings.Index(s[i:], "```")
		if next < 0 || !strings.Contains(s[i+next+3:], "```") {
			next = len(s) - i
		}
		if next == 0 { // an unmatched ``` shows as it is
			next = 3
		}
		r.lines(&b, s[i:i+next], n)
		i += next
	}
	return b.String()
}

// lines renders text outside code blocks line by line: "&gt; " quotes.
func (r *Renderer) lines(b *strings.Builder, s string, n Names) {
	ls := strings.Split(s, "\n")
	for i, line := range ls {
		if i > 0 {
			b.WriteString("<br>")
		}
		if q, ok := strings.CutPrefix(line, "&gt;"); ok {
			b.WriteString(`<span class="sk-quote">`)
			r.inline(b, strings.TrimPrefix(q, " "), n)
			b.WriteString(`</span>`)
			continue
		}
		r.inline(b, line, n)
	}
}

// inline renders one line: code spans, tokens, emphasis, emoji, text.
func (r *Renderer) inline(b *strings.Builder, s string, n Names) {
	text := 0 // start of pending plain text
	flush := func(end int) {
		if end > text {
			b.WriteString(r.emojify(html.EscapeString(r.decode(s[text:end]))))
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '`':
			if end := strings.IndexByte(s[i+1:], '`'); end > 0 {
				flush(i)
				b.WriteString(`<code class="sk-code">`)
				b.WriteString(html.EscapeString(r.decode(s[i+1 : i+1+end])))
				b.WriteString(`</code>`)
				i += end + 2
				text = i
				continue
			}
		case c == '<':
			if end := strings.IndexByte(s[i:], '>'); end > 0 {
				flush(i)
				b.WriteString(r.token(s[i+1:i+end], n))
				i += end + 1
				text = i
				continue
			}
		case c == '*' || c == '_' || c == '~':
			if end := closer(s, i); end > 0 {
				flush(i)
				tag := "del"
				switch c {
				case '*':
					tag = "strong"
				case '_':
					tag = "em"
				}
				b.WriteString("<" + tag + ">")
				r.inline(b, s[i+1:end], n)
				b.WriteString("</" + tag + ">")
				i = end + 1
				text = i
				continue
			}
		}
		i++
	}
	flush(len(s))
}

// closer returns the index of the marker that closes the one at s[i], or
// -1 when s[i] does not open formatting. A marker opens at the start or
// after a character that is not a letter or digit, and only if followed by
// something other than whitespace or a zero-width space; it closes after
// such a character and before the end or a non-alphanumeric character.
func closer(s string, i int) int {
	m := s[i]
	if i > 0 {
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		if isWordRune(prev) || prev == rune(m) {
			return -1
		}
	}
	next, _ := utf8.DecodeRuneInString(s[i+1:])
	if i+1 >= len(s) || unicode.IsSpace(next) || next == zwsp || next == rune(m) {
		return -1
	}
	for j := i + 2; j < len(s); j++ {
		if s[j] == '<' { // never close inside a token
			if end := strings.IndexByte(s[j:], '>'); end > 0 {
				j += end
				continue
			}
		}
		if s[j] != m {
			continue
		}
		prev, _ := utf8.DecodeLastRuneInString(s[:j])
		if unicode.IsSpace(prev) || prev == zwsp {
			continue
		}
		if j+1 < len(s) {
			after, _ := utf8.DecodeRuneInString(s[j+1:])
			if isWordRune(after) {
				continue
			}
		}
		return j
	}
	return -1
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// decode turns Slack's three escapes back into characters, in one pass:
// "&amp;lt;" becomes "&lt;", never "<".
func (r *Renderer) decode(s string) string { return r.unescape.Replace(s) }

// token renders the inside of <…>.
func (r *Renderer) token(t string, n Names) string {
	body, label, hasLabel := strings.Cut(t, "|")
	label = r.decode(label)
	switch {
	case strings.HasPrefix(body, "@"):
		id := body[1:]
		name := n.Users[id]
		if name == "" {
			name = label
		}
		if name == "" {
			name = id
		}
		return `<span class="sk-mention" data-user="` + html.EscapeString(id) + `">@` + html.EscapeString(name) + `</span>`
	case strings.HasPrefix(body, "#"):
		id := body[1:]
		name := n.Channels[id]
		if name == "" {
			name = label
		}
		if name == "" {
			name = id
		}
		return `<span class="sk-mention sk-channel">#` + html.EscapeString(name) + `</span>`
	case strings.HasPrefix(body, "!subteam^"):
		id := strings.TrimPrefix(body, "!subteam^")
		handle := n.Groups[id]
		if handle == "" {
			handle = strings.TrimPrefix(label, "@")
		}
		if handle == "" {
			handle = id
		}
		return `<span class="sk-mention sk-group">@` + html.EscapeString(handle) + `</span>`
	case strings.HasPrefix(body, "!date^"):
		return r.date(strings.TrimPrefix(body, "!date^"), label)
	case body == "!here" || body == "!channel" || body == "!everyone":
		return `<span class="sk-mention sk-broadcast">@` + html.EscapeString(body[1:]) + `</span>`
	case strings.HasPrefix(body, "!"):
		if hasLabel {
			return html.EscapeString(label)
		}
		return html.EscapeString("<" + r.decode(t) + ">")
	}
	href := r.decode(body)
	if u, err := url.Parse(href); err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "mailto") {
		if !hasLabel || label == "" {
			label = strings.TrimPrefix(href, "mailto:")
		}
		return `<a href="` + html.EscapeString(href) + `" target="_blank" rel="noopener noreferrer">` + html.EscapeString(label) + `</a>`
	}
	// Anything else is not a link Slack would make: show it as text.
	return html.EscapeString("<" + r.decode(t) + ">")
}

// date renders <!date^unix^format[^link]|fallback> in UTC.
func (r *Renderer) date(spec, fallback string) string {
	parts := strings.SplitN(spec, "^", 3)
	secs, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || len(parts) < 2 {
		return html.EscapeString(fallback)
	}
	t := time.Unix(secs, 0).UTC()
	now := r.now().UTC()
	pretty := func(short, long string) string {
		y, m, d := now.Date()
		today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		switch day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC); {
		case day.Equal(today):
			return "Today"
		case day.Equal(today.AddDate(0, 0, -1)):
			return "Yesterday"
		case day.Equal(today.AddDate(0, 0, 1)):
			return "Tomorrow"
		}
		if short != "" {
			return t.Format(short)
		}
		return t.Format(long)
	}
	out := strings.NewReplacer(
		"{date_num}", t.Format("2006-01-02"),
		"{date_slash}", t.Format("02/01/2006"),
		"{date_long_pretty}", pretty("", "Monday, January 2nd"),
		"{date_long_full}", t.Format("January 2, 2006"),
		"{date_long}", t.Format("Monday, January 2, 2006"),
		"{date_pretty}", pretty("", "January 2, 2006"),
		"{date_short_pretty}", pretty("Jan 2, 2006", ""),
		"{date_short}", t.Format("Jan 2, 2006"),
		"{date}", t.Format("January 2, 2006"),
		"{time_secs}", t.Format("15:04:05"),
		"{time}", t.Format("15:04"),
		"{ago}", ago(now.Sub(t)),
	).Replace(parts[1])
	out = strings.ReplaceAll(out, "2nd", ordinal(t.Day()))
	return `<time datetime="` + t.Format(time.RFC3339) + `" title="` + html.EscapeString(fallback) + `">` + html.EscapeString(out) + ` UTC</time>`
}

func ordinal(d int) string {
	suffix := "th"
	switch {
	case d%100 >= 11 && d%100 <= 13:
	case d%10 == 1:
		suffix = "st"
	case d%10 == 2:
		suffix = "nd"
	case d%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(d) + suffix
}

func ago(d time.Duration) string {
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = "a few seconds"
	case d < time.Hour:
		s = strconv.Itoa(int(d.Minutes())) + " minutes"
	case d < 24*time.Hour:
		s = strconv.Itoa(int(d.Hours())) + " hours"
	default:
		s = strconv.Itoa(int(d.Hours()/24)) + " days"
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// emojify replaces the :shortcodes: the renderer knows in already-escaped
// text; unknown ones stay as they are.
func (r *Renderer) emojify(s string) string {
	if !strings.Contains(s, ":") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, ':')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], ':')
		if j < 0 {
			break
		}
		name := s[i+1 : i+1+j]
		if e, ok := r.emoji[name]; ok {
			b.WriteString(s[:i])
			b.WriteString(`<span class="sk-emoji" role="img" aria-label="` + name + `">` + e + `</span>`)
			s = s[i+j+2:]
			continue
		}
		b.WriteString(s[:i+1])
		s = s[i+1:]
	}
	b.WriteString(s)
	return b.String()
}
