package commands

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits Parse enforces.
const (
	// maxParseRunes is the longest text Parse reads; Slack's own limit for
	// slash command text is in this region, so anything longer is a paste
	// gone wrong.
	maxParseRunes = 4000
	// maxAuditSince is the widest audit window `--since` accepts.
	maxAuditSince = 30 * 24 * time.Hour
	// maxAuditLimit is the most audit entries `--limit` may ask for.
	maxAuditLimit = 50
	// maxEchoRunes is how much of the user's text an error message quotes.
	maxEchoRunes = 40
	// maxSuggestRunes is the longest word for which a subcommand is suggested.
	maxSuggestRunes = 20
)

// The options subcommands accept, by canonical name (without dashes).
const (
	optShare    = "share"
	optProject  = "project"
	optEnv      = "env"
	optTag      = "tag"
	optArchived = "archived"
	optKind     = "kind"
	optFlag     = "flag"
	optSince    = "since"
	optLimit    = "limit"
)

// Parse turns the text after "/flag" into a typed Command.
//
// Words are separated by any run of white space; straight, curly (“ ” ‘ ’)
// and backtick quotes group words, so `list "new checkout"` searches for
// "new checkout". Options may be written `--name value` or `--name=value`
// (a single dash or an em dash, as chat clients like to substitute, works
// too), and `--` ends the options. Subcommand and option names are matched
// case-insensitively; keys are kept as typed. Slack's link markup
// (<mailto:a@b.c|a@b.c>) and its &amp; &lt; &gt; escapes are undone first.
// Empty text means Request{} (the request form); `-h` or `--help` anywhere
// means Help for that subcommand, and `help` lists them all.
//
// Every mistake is reported as a *UsageError whose Help is the entry of the
// subcommand concerned, or the zero HelpEntry when no subcommand could be
// identified.
func Parse(text string) (Command, error) { return NewParser().Parse(text) }

// Parser parses `/flag` text with a subcommand table built once, for a
// transport that parses on every command. It is safe for concurrent use.
type Parser struct{ subs []subcommand }

// NewParser builds the table a Parser uses.
func NewParser() *Parser { return &Parser{subs: subcommands()} }

// Parse is the package-level Parse without rebuilding the table.
func (p *Parser) Parse(text string) (Command, error) {
	if n := utf8.RuneCountInString(text); n > maxParseRunes {
		return nil, &UsageError{Msg: Textf("That is %d characters long; I read at most %d after `/flag`.", n, maxParseRunes)}
	}
	text = unslack(text)
	toks, open := tokenize(text)
	if len(toks) == 0 {
		if open >= 0 {
			return nil, unclosedQuote(text, open, HelpEntry{})
		}
		return Request{}, nil
	}
	first := toks[0]
	if o, ok := optionOf(first); ok && !o.end {
		switch {
		case open >= 0:
			return nil, unclosedQuote(text, open, HelpEntry{})
		case o.isHelp():
			return Help{}, nil
		}
		return nil, &UsageError{Msg: Notation("Start with a subcommand, e.g. `/flag list checkout`. `/flag help` lists them all.")}
	}
	subs := p.subs
	sub, ok := findSubcommand(subs, first.text)
	if !ok {
		return nil, &UsageError{Msg: unknownSubcommand(subs, first.text, true)}
	}
	if open >= 0 {
		return nil, unclosedQuote(text, open, sub.entry)
	}
	rest := toks[1:]
	if wantsHelp(rest) {
		return Help{Topic: sub.entry.Name}, nil
	}
	a, err := collectArgs(sub, subs, rest)
	if err != nil {
		return nil, err
	}
	return sub.parse(a)
}

// parseToken is one word of the text, quotes removed.
type parseToken struct {
	text   string
	quoted bool // it began with a quote, so it is never an option
}

// tokenize splits s into words. A quote opens at the start of a word or
// right after an '=' (as in --tag="beta users") and is closed by any quote
// of the same family, so “…” and "…" and ‘…’ all work; elsewhere quote
// characters are literal, so "don't" stays one word. open is the byte
// offset of a quote that was never closed, or -1.
func tokenize(s string) (toks []parseToken, open int) {
	var (
		buf     strings.Builder
		inToken bool
		quoted  bool
		family  int // the open quote's family; 0 outside quotes
		openAt  int
		prev    rune
	)
	emit := func() {
		toks = append(toks, parseToken{text: buf.String(), quoted: quoted})
		buf.Reset()
		inToken, quoted = false, false
	}
	for i, r := range s {
		q := quoteFamily(r)
		switch {
		case family != 0:
			if q == family {
				family = 0
			} else {
				buf.WriteRune(r)
			}
		case isZeroWidth(r):
			continue
		case unicode.IsSpace(r):
			if inToken {
				emit()
			}
		case q != 0 && (!inToken || prev == '='):
			if !inToken {
				quoted = true
			}
			inToken, family, openAt = true, q, i
		default:
			inToken = true
			buf.WriteRune(r)
		}
		prev = r
	}
	if family != 0 {
		return toks, openAt
	}
	if inToken {
		emit()
	}
	return toks, -1
}

// quoteFamily groups the quote characters that may open and close each
// other: 1 for double quotes, 2 for single quotes, 3 for backticks.
func quoteFamily(r rune) int {
	switch r {
	case '"', '“', '”', '„', '‟':
		return 1
	case '\'', '‘', '’', '‚', '‛':
		return 2
	case '`':
		return 3
	}
	return 0
}

// isZeroWidth reports invisible characters that pasted text carries and
// that are dropped outside quotes.
func isZeroWidth(r rune) bool {
	return r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff'
}

// unslack undoes Slack's markup: <target|label> becomes label, <mailto:x>
// becomes x, <target> becomes target, and &lt; &gt; &amp; become < > &.
// A '<' that does not start such markup is left alone.
func unslack(s string) string {
	if strings.IndexByte(s, '<') >= 0 {
		var b strings.Builder
		for {
			i := strings.IndexByte(s, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(s[i+1:], '>')
			if j < 0 {
				break
			}
			inner := s[i+1 : i+1+j]
			target, label, hasLabel := strings.Cut(inner, "|")
			if target == "" || strings.IndexFunc(target, unicode.IsSpace) >= 0 {
				b.WriteString(s[:i+1])
				s = s[i+1:]
				continue
			}
			b.WriteString(s[:i])
			switch {
			case strings.HasPrefix(target, "#C") || strings.HasPrefix(target, "#G"):
				// A channel reference keeps its ID, which `digest subscribe` needs.
				b.WriteString(s[i : i+1+j+1])
			case strings.HasPrefix(target, "!subteam^"):
				// A user group mention keeps its ID, which `config approvers` needs.
				b.WriteString(target[1:])
			case hasLabel:
				b.WriteString(label)
			default:
				b.WriteString(strings.TrimPrefix(target, "mailto:"))
			}
			s = s[i+1+j+1:]
		}
		b.WriteString(s)
		s = b.String()
	}
	if strings.IndexByte(s, '&') >= 0 {
		s = strings.ReplaceAll(s, "&lt;", "<")
		s = strings.ReplaceAll(s, "&gt;", ">")
		s = strings.ReplaceAll(s, "&amp;", "&")
	}
	return s
}

// parsedOption is a word that names an option.
type parsedOption struct {
	name     string // canonical, lower case, without dashes
	value    string // after '=', when hasValue
	hasValue bool
	end      bool // the word was "--": everything after it is an argument
}

func (o parsedOption) isHelp() bool { return o.name == "h" || o.name == "help" }

// optionOf reports whether t names an option: an unquoted word starting
// with "-", "--", an em dash or an en dash, followed by a name.
func optionOf(t parseToken) (parsedOption, bool) {
	if t.quoted {
		return parsedOption{}, false
	}
	s := t.text
	if s == "--" {
		return parsedOption{end: true}, true
	}
	var rest string
	switch {
	case strings.HasPrefix(s, "--"):
		rest = s[2:]
	case strings.HasPrefix(s, "-"):
		rest = s[1:]
	case strings.HasPrefix(s, "—"):
		rest = s[len("—"):]
	case strings.HasPrefix(s, "–"):
		rest = s[len("–"):]
	default:
		return parsedOption{}, false
	}
	if rest == "" {
		return parsedOption{}, false // a lone dash is a word
	}
	name, value, has := strings.Cut(rest, "=")
	name = strings.ToLower(name)
	if name == "environment" {
		name = optEnv
	}
	return parsedOption{name: name, value: value, hasValue: has}, true
}

// wantsHelp reports whether -h or --help appears among the options.
func wantsHelp(toks []parseToken) bool {
	for _, t := range toks {
		o, ok := optionOf(t)
		if !ok {
			continue
		}
		if o.end {
			return false
		}
		if o.isHelp() {
			return true
		}
	}
	return false
}

// optionIsBool reports whether an option is a switch rather than taking a
// value.
func optionIsBool(name string) bool {
	return name == optShare || name == optArchived || name == optTemporary || name == optPostEmpty
}

// optionExample is a value shown in messages about an option.
func optionExample(name string) string {
	switch name {
	case optProject:
		return "web"
	case optEnv:
		return "production"
	case optTag:
		return "beta"
	case optKind:
		return "user"
	case optFlag:
		return "new-checkout"
	case optSince:
		return "7d"
	case optLimit:
		return "20"
	case optAt:
		return "tomorrow 09:00 Europe/Berlin"
	case optIn:
		return "2h"
	}
	return "value"
}

// parseArgs is a subcommand's words after options were taken out.
type parseArgs struct {
	entry HelpEntry
	subs  []subcommand
	pos   []string          // positional arguments, in order
	opts  map[string]string // option values; switches hold "true" or "false"
}

// collectArgs separates toks into options, checked against what sub
// accepts, and positional arguments.
func collectArgs(sub subcommand, subs []subcommand, toks []parseToken) (*parseArgs, error) {
	a := &parseArgs{entry: sub.entry, subs: subs, opts: make(map[string]string)}
	endOfOptions := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		o, isOpt := optionOf(t)
		if endOfOptions || !isOpt {
			a.pos = append(a.pos, t.text)
			continue
		}
		if o.end {
			endOfOptions = true
			continue
		}
		if !slices.Contains(sub.options, o.name) {
			return nil, a.unknownOption(sub, o.name)
		}
		var v string
		switch {
		case optionIsBool(o.name):
			on := true
			if o.hasValue {
				var ok bool
				if on, ok = parseSwitch(o.value); !ok {
					return nil, a.usagef("`--%s` is a switch: write `--%s` on its own (or `--%s=false`), not %s.", o.name, o.name, o.name, echo(o.value))
				}
			}
			v = strconv.FormatBool(on)
		case o.hasValue:
			v = o.value
		case i+1 < len(toks):
			if _, nextIsOpt := optionOf(toks[i+1]); !nextIsOpt {
				i++
				v = toks[i].text
				if o.name == optAt {
					v, i = atWords(toks, i)
				}
			}
		}
		if v == "" {
			return nil, a.usagef("`--%s` needs a value, e.g. `--%s %s`.", o.name, o.name, optionExample(o.name))
		}
		if old, dup := a.opts[o.name]; dup && old != v {
			return nil, a.usagef("You gave `--%s` twice, as %s and %s; give it once.", o.name, echo(old), echo(v))
		}
		a.opts[o.name] = v
	}
	return a, nil
}

// parseSwitch reads the value of a switch written --name=value.
func parseSwitch(s string) (on, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

// usagef returns a *UsageError for a's subcommand with a message built by
// Textf.
func (a *parseArgs) usagef(format string, args ...any) *UsageError {
	return &UsageError{Msg: Textf(format, args...), Help: a.entry}
}

func (a *parseArgs) unknownOption(sub subcommand, name string) *UsageError {
	if len(sub.options) == 0 {
		return a.usagef("`%s` takes no options, so I don't know what to do with %s.", sub.entry.Name, echo("--"+name))
	}
	valid := make([]Text, len(sub.options))
	for i, o := range sub.options {
		valid[i] = Text{Code("--" + o)}
	}
	return a.usagef("`%s` has no option %s. It takes %s.", sub.entry.Name, echo("--"+name), Join(valid, ", "))
}

// atMost rejects more than n positional arguments.
func (a *parseArgs) atMost(n int) error {
	if len(a.pos) <= n {
		return nil
	}
	extra := echo(strings.Join(a.pos[n:], " "))
	if n == 0 {
		return a.usagef("`%s` takes no arguments, so I don't know what to do with %s. Usage: `%s`.", a.entry.Name, extra, a.entry.Usage)
	}
	noun := "arguments"
	if n == 1 {
		noun = "argument"
	}
	return a.usagef("`%s` takes at most %d %s, so I don't know what to do with %s. Usage: `%s`.", a.entry.Name, n, noun, extra, a.entry.Usage)
}

func (a *parseArgs) output() Output { return Output{Share: a.opts[optShare] == "true"} }

// words joins the positional arguments into search text.
func (a *parseArgs) words() string {
	var kept []string
	for _, p := range a.pos {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}

// key checks that v is a LaunchDarkly key; what names it in the message.
func (a *parseArgs) key(what, v string) error {
	if ue := a.keyError(what, v); ue != nil {
		return ue
	}
	return nil
}

// keyError is key's *UsageError, nil when v is a valid key.
func (a *parseArgs) keyError(what, v string) *UsageError {
	switch {
	case validKey(v):
		return nil
	case v == "":
		return a.usagef("The %s is empty. Usage: `%s`.", what, a.entry.Usage)
	}
	return a.usagef("%s isn't a valid %s: keys use only letters, digits, `.`, `_` and `-`.", echo(v), what)
}

// optionKey returns option name's value, checked to be a key.
func (a *parseArgs) optionKey(name, what string) (string, error) {
	v, ok := a.opts[name]
	if !ok {
		return "", nil
	}
	return v, a.key(what, v)
}

// pick returns a key that may be given as positional argument i or as
// option name (e.g. an environment, positionally or with --env).
func (a *parseArgs) pick(i int, name, what string) (string, error) {
	v, given := a.opts[name]
	if i < len(a.pos) {
		p := a.pos[i]
		if given && !strings.EqualFold(p, v) {
			return "", a.usagef("You named two %ss, %s and %s (with `--%s`); which one do you mean?", what, echo(p), echo(v), name)
		}
		v = p
		given = true
	}
	if !given {
		return "", nil
	}
	return v, a.key(what+" key", v)
}

// validKey reports whether s looks like a LaunchDarkly key.
func validKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// echo quotes a piece of the user's text for a message, as a code span.
func echo(s string) Span {
	if p := plain(s); p != "" {
		return Code(p)
	}
	return Plain("that")
}

// plain shortens a piece of the user's text to one line, without control
// characters or backticks, for quoting in a code span. (The transport
// escapes what is left.)
func plain(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '`' || unicode.IsControl(r) {
			continue
		}
		if n == maxEchoRunes {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func unclosedQuote(text string, at int, help HelpEntry) *UsageError {
	return &UsageError{Msg: Textf("The quote at %s is never closed. Close it, or leave the quotes out.", echo(text[at:])), Help: help}
}

// unknownSubcommand says that typed is not a subcommand and suggests the
// closest one. With hintShow, a word that looks like a flag key gets a
// `/flag show` hint when nothing is close.
func unknownSubcommand(subs []subcommand, typed string, hintShow bool) Text {
	if s := suggestSubcommand(subs, typed); s != "" {
		return Textf("I don't know %s. Did you mean `%s`? Try `/flag help`.", echo(typed), s)
	}
	if hintShow && validKey(typed) && len(typed) <= maxEchoRunes {
		return Textf("I don't know %s. To see a flag, try `/flag show %s`; `/flag help` lists what I can do.", echo(typed), typed)
	}
	return Textf("I don't know %s. Try `/flag help`.", echo(typed))
}

// suggestSubcommand returns the subcommand name or alias closest to typed:
// one edit away (two for names longer than four letters, a swap of
// neighbours counting as one), else the first that typed is a prefix of;
// "" if none.
func suggestSubcommand(subs []subcommand, typed string) string {
	t := strings.ToLower(typed)
	n := utf8.RuneCountInString(t)
	if n == 0 || n > maxSuggestRunes {
		return ""
	}
	best, bestDist := "", maxSuggestRunes
	var prefixed string
	for _, s := range subs {
		for _, cand := range append([]string{s.entry.Name}, s.aliases...) {
			limit := 1
			if len(cand) > 4 {
				limit = 2
			}
			if d := swapDistance(t, cand); d <= limit && d < bestDist {
				best, bestDist = cand, d
			}
			if prefixed == "" && n >= 3 && strings.HasPrefix(cand, t) {
				prefixed = cand
			}
		}
	}
	if best != "" {
		return best
	}
	return prefixed
}

// swapDistance is the optimal string alignment distance between a and b by
// rune: Levenshtein plus transposition of neighbours.
func swapDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// parseAuditSince reads an audit window: a Go duration ("36h", "90m"),
// whole days ("7d"), or both ("1d12h"). ok is false when s is none of
// these; range checks are left to the caller.
func parseAuditSince(s string) (time.Duration, bool) {
	s = strings.ToLower(s)
	var days time.Duration
	before, after, hasDays := strings.Cut(s, "d")
	if hasDays {
		if before == "" || len(before) > 3 || strings.Trim(before, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.Atoi(before)
		if err != nil {
			return 0, false
		}
		days = time.Duration(n) * 24 * time.Hour
		s = after
	}
	if s == "" {
		return days, hasDays
	}
	rest, err := time.ParseDuration(s)
	if err != nil || rest < 0 {
		return 0, false
	}
	if rest > math.MaxInt64-days {
		return math.MaxInt64, true // saturate rather than overflow; the caller refuses it as too long
	}
	return days + rest, true
}
