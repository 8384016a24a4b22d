package digest

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// Digest is one summary ready to render: the changes of a window grouped by
// flag, then environment, with highlights. Strings are raw (not escaped).
type Digest struct {
	SubscriptionID string
	// RunID names this post of the digest: the poster tags the message
	// with it so that a retry can find it (see Slack.FindDigest).
	RunID    string
	Filter   commands.DigestFilter
	From, To time.Time      // the window, [From, To)
	Location *time.Location // for showing times
	// Capped is set when the window was shortened to the most a digest
	// covers (after downtime); CappedFrom is where it would have started.
	Capped     bool
	CappedFrom time.Time
	// Truncated is set when the window held more changes than one digest
	// fetches; only the newest are included.
	Truncated bool
	Total     int // changes in Flags
	Flags     []FlagGroup
	People    []string // who made the changes, sorted
	Highlights
	AuditURL string // LaunchDarkly's audit log, for "and N more"
	BaseURL  string // LaunchDarkly's base URL, for links in titles
	// Unsigned are break-glass kills of the subscription's project nobody
	// signed off by their deadline (Options.Unsigned), oldest first.
	Unsigned []commands.Change
}

// FlagGroup is the changes to one flag, by environment.
type FlagGroup struct {
	Key     string
	Name    string
	Envs    []EnvGroup // critical environments first, then by key
	Changes int
}

// EnvGroup is the changes to a flag in one environment; Key is empty for
// changes to the flag as a whole.
type EnvGroup struct {
	Key      string
	Critical bool
	Changes  []Change // oldest first
}

// Change is one audit-log entry.
type Change struct {
	ID      string
	At      time.Time
	Who     string
	Verb    string // LaunchDarkly's title verb, e.g. "turned on the flag"
	Title   string // LaunchDarkly's title (Markdown)
	Comment string
	// Flagbot is set for changes Flagbot applied after approval: the
	// comment names a request of the workspace's change store that matches
	// the change (see Window.Changes), not merely "via Flagbot".
	Flagbot *FlagbotApproval
	Switch  bool // the change turned targeting on or off
}

// FlagbotApproval is what a Flagbot comment says about a change: names
// as the comment gives them, Slack user IDs where it gives them.
type FlagbotApproval struct {
	Requester   string
	RequesterID string
	Approvers   []string
	ApproverIDs []string
	Reason      string
	RequestID   string
}

// Highlights count what deserves attention.
type Highlights struct {
	Critical       int // changes in production or critical environments
	NoComment      int // changes without a comment
	OutsideFlagbot int // changes not made through a Flagbot request
	// Unverified counts changes whose comment claims a Flagbot request
	// that Flagbot has no matching record of (typed by hand, or copied).
	Unverified int
	Switched   []Flap // flags switched on or off several times
}

// Flap is a flag switched on or off Times times in one environment.
type Flap struct {
	Flag, Env string
	Times     int
}

// Window is what Build needs besides the entries.
type Window struct {
	SubscriptionID string
	Filter         commands.DigestFilter
	From, To       time.Time
	Location       *time.Location
	// CriticalEnvs are the project's environments marked critical in
	// LaunchDarkly; environments whose key contains "prod" count too.
	CriticalEnvs map[string]bool
	BaseURL      string
	// Changes are the workspace's Flagbot change requests named in the
	// entries' comments, by ID, as the change store holds them. A change
	// is labelled "via Flagbot" only when its comment names one of them
	// that matches it: same project, flag and environment, requester and
	// approvers, approved (or applied) shortly before the change's date,
	// and named by no other entry of the window.
	Changes map[string]commands.Change
}

// maxRequestID is the longest request ID worth looking up; Flagbot's are
// far shorter.
const maxRequestID = 64

// flagbotSkew is how far apart LaunchDarkly's clock (an entry's date) and
// Flagbot's (a change's approval and outcome times) may be.
const flagbotSkew = 5 * time.Minute

// Build groups entries (any order) into a digest. Entries that are not about
// a flag in w.Filter's project, environments and flag are left out; the
// caller has already cut them to the window.
func Build(entries []commands.AuditEntry, w Window) Digest {
	d := Digest{
		SubscriptionID: w.SubscriptionID, Filter: w.Filter, From: w.From, To: w.To,
		Location: w.Location, BaseURL: w.BaseURL,
	}
	if d.Location == nil {
		d.Location = time.UTC
	}
	if w.BaseURL != "" {
		d.AuditURL = strings.TrimRight(w.BaseURL, "/") + "/settings/history"
	}
	type envKey struct{ flag, env string }
	flagIdx := make(map[string]int)
	envIdx := make(map[envKey]int)
	switches := make(map[envKey]int)
	people := make(map[string]bool)
	type inScope struct {
		e               *commands.AuditEntry
		env, flag, proj string
		claim           *FlagbotApproval
	}
	var kept []inScope
	claims := make(map[string]int) // request ID -> entries naming it
	for i := range entries {
		e := &entries[i]
		proj, env, flag, ok := flagResource(e)
		if !ok || (w.Filter.Project != "" && proj != w.Filter.Project) ||
			(w.Filter.Flag != "" && flag != w.Filter.Flag) ||
			(env != "" && len(w.Filter.Envs) > 0 && !slices.Contains(w.Filter.Envs, env)) {
			continue
		}
		in := inScope{e: e, env: env, flag: flag, proj: proj}
		if a, ok := ParseFlagbotComment(e.Comment); ok {
			in.claim = &a
			claims[a.RequestID]++
		}
		kept = append(kept, in)
	}
	for _, in := range kept {
		e, env, flag := in.e, in.env, in.flag
		c := Change{
			ID: e.ID, At: e.Date, Who: who(e), Verb: strings.TrimSpace(e.TitleVerb),
			Title: e.Title, Comment: strings.TrimSpace(e.Comment),
		}
		if a := in.claim; a != nil && claims[a.RequestID] == 1 {
			if ch, ok := w.Changes[a.RequestID]; ok && madeBy(ch, *a, in.proj, env, flag, e.Date) {
				a.Reason = ch.Reason // what the approvers saw
				c.Flagbot = a
			}
		}
		for _, a := range e.Accesses {
			if a.Action == "updateOn" {
				c.Switch = true
				break
			}
		}
		fi, ok := flagIdx[flag]
		if !ok {
			fi = len(d.Flags)
			flagIdx[flag] = fi
			d.Flags = append(d.Flags, FlagGroup{Key: flag})
		}
		fg := &d.Flags[fi]
		if fg.Name == "" {
			fg.Name = strings.TrimSpace(e.Name)
		}
		ek := envKey{flag, env}
		ei, ok := envIdx[ek]
		if !ok {
			ei = len(fg.Envs)
			envIdx[ek] = ei
			fg.Envs = append(fg.Envs, EnvGroup{Key: env, Critical: env != "" && (w.CriticalEnvs[env] || strings.Contains(strings.ToLower(env), "prod"))})
		}
		eg := &fg.Envs[ei]
		eg.Changes = append(eg.Changes, c)
		fg.Changes++
		d.Total++
		people[c.Who] = true
		if eg.Critical {
			d.Critical++
		}
		if c.Comment == "" {
			d.NoComment++
		}
		if c.Flagbot == nil {
			d.OutsideFlagbot++
			if mentionsFlagbot(c.Comment) {
				d.Unverified++
			}
		}
		if c.Switch {
			switches[ek]++
		}
	}
	for i := range d.Flags {
		fg := &d.Flags[i]
		for j := range fg.Envs {
			slices.SortStableFunc(fg.Envs[j].Changes, func(a, b Change) int { return a.At.Compare(b.At) })
		}
		slices.SortFunc(fg.Envs, func(a, b EnvGroup) int {
			if a.Critical != b.Critical {
				if a.Critical {
					return -1
				}
				return 1
			}
			return cmp.Compare(a.Key, b.Key)
		})
	}
	// Most changed flags first, then by key.
	slices.SortFunc(d.Flags, func(a, b FlagGroup) int {
		if c := cmp.Compare(b.Changes, a.Changes); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	for k, n := range switches {
		if n >= 2 {
			d.Switched = append(d.Switched, Flap{Flag: k.flag, Env: k.env, Times: n})
		}
	}
	slices.SortFunc(d.Switched, func(a, b Flap) int {
		if c := cmp.Compare(b.Times, a.Times); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Flag, b.Flag), cmp.Compare(a.Env, b.Env))
	})
	d.People = make([]string, 0, len(people))
	for p := range people {
		d.People = append(d.People, p)
	}
	slices.Sort(d.People)
	return d
}

// flagResource finds the flag an entry is about in its accesses:
// proj/{p}:env/{e}:flag/{f}. env is "" for flag-wide changes (env/*).
func flagResource(e *commands.AuditEntry) (proj, env, flag string, ok bool) {
	for _, a := range e.Accesses {
		if p, en, f, ok := parseFlagResource(a.Resource); ok {
			return p, en, f, true
		}
	}
	for _, r := range e.TargetResources {
		if p, en, f, ok := parseFlagResource(r); ok {
			return p, en, f, true
		}
	}
	return "", "", "", false
}

func parseFlagResource(r string) (proj, env, flag string, ok bool) {
	for part := range strings.SplitSeq(r, ":") {
		part, _, _ = strings.Cut(part, ";") // tags
		switch {
		case strings.HasPrefix(part, "proj/"):
			proj = part[len("proj/"):]
		case strings.HasPrefix(part, "env/"):
			env = part[len("env/"):]
		case strings.HasPrefix(part, "flag/"):
			flag = part[len("flag/"):]
		}
	}
	if env == "*" {
		env = ""
	}
	return proj, env, flag, flag != "" && flag != "*"
}

func who(e *commands.AuditEntry) string {
	if m := e.Member; m != nil {
		if n := strings.TrimSpace(m.FirstName + " " + m.LastName); n != "" {
			return n
		}
		if m.Email != "" {
			return m.Email
		}
	}
	if e.Token != nil && e.Token.Name != "" {
		return "token " + e.Token.Name
	}
	return "LaunchDarkly"
}

// madeBy reports whether change ch of the change store is the Flagbot
// request an entry about proj/env/flag dated at claims (a): Flagbot applied
// it (or handed it to LaunchDarkly's approval flow), to that flag, after
// the approvals the comment names and before recording the outcome.
func madeBy(ch commands.Change, a FlagbotApproval, proj, env, flag string, at time.Time) bool {
	switch ch.Status {
	case commands.StatusApproved, commands.StatusApplied, commands.StatusLDApproval:
	default:
		return false
	}
	if ch.ID != a.RequestID || ch.Project != proj || ch.Flag != flag || (ch.Env != "" && ch.Env != env) {
		return false
	}
	if a.RequesterID != ch.RequesterID || len(ch.Approvals) == 0 {
		return false
	}
	approvers := make([]string, 0, len(ch.Approvals))
	var approved time.Time
	for _, ap := range ch.Approvals {
		approvers = append(approvers, ap.UserID)
		if ap.At.After(approved) {
			approved = ap.At
		}
	}
	claimed := slices.Clone(a.ApproverIDs)
	slices.Sort(approvers)
	slices.Sort(claimed)
	if !slices.Equal(approvers, claimed) {
		return false
	}
	if at.Before(approved.Add(-flagbotSkew)) {
		return false
	}
	// A change handed to LaunchDarkly's approval flow is applied when
	// LaunchDarkly's reviewers say so, after Flagbot recorded it.
	if ch.Status != commands.StatusLDApproval && !ch.DecidedAt.IsZero() && at.After(ch.DecidedAt.Add(flagbotSkew)) {
		return false
	}
	return true
}

// RequestIDs returns the Flagbot request IDs the entries' comments name,
// each once: what Window.Changes needs looked up.
func RequestIDs(entries []commands.AuditEntry) []string {
	var ids []string
	for i := range entries {
		if a, ok := ParseFlagbotComment(entries[i].Comment); ok && len(a.RequestID) <= maxRequestID && !slices.Contains(ids, a.RequestID) {
			ids = append(ids, a.RequestID)
		}
	}
	return ids
}

// mentionsFlagbot reports a comment that claims a change was approved
// through Flagbot: one that names a request, or says approved ... via
// Flagbot. Flagbot's own comment on a change an admin exempted from
// approval ("Applied by ... via Flagbot without approval") claims no
// approval, and names no request.
func mentionsFlagbot(c string) bool {
	return strings.Contains(c, "; request ") || (strings.Contains(c, "via Flagbot") && strings.Contains(c, "approved by"))
}

// ParseFlagbotComment reads the comment Flagbot writes on changes it
// applies:
//
//	Requested by <name> (<id>), approved by <name> (<id>)[, <name> (<id>)...] via Flagbot[; reason: <text>]; request <id>
//
// ok is false for any other comment.
func ParseFlagbotComment(c string) (a FlagbotApproval, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(c), "Requested by ")
	if !found {
		return FlagbotApproval{}, false
	}
	i := strings.LastIndex(rest, "; request ")
	if i < 0 {
		return FlagbotApproval{}, false
	}
	a.RequestID = strings.TrimSpace(rest[i+len("; request "):])
	rest = rest[:i]
	if j := strings.Index(rest, " via Flagbot; reason: "); j >= 0 {
		a.Reason = strings.TrimSpace(rest[j+len(" via Flagbot; reason: "):])
		rest = rest[:j]
	} else if j := strings.Index(rest, " via Flagbot"); j >= 0 {
		rest = rest[:j]
	} else {
		return FlagbotApproval{}, false
	}
	req, approvers, found := strings.Cut(rest, ", approved by ")
	if !found || a.RequestID == "" {
		return FlagbotApproval{}, false
	}
	a.Requester, a.RequesterID = person(req)
	// People are "Name (U123)" or a bare user ID, joined with ", "; a name
	// may itself hold ", ", so a person ends only after ")" or an ID.
	var cur []string
	add := func(s string) {
		if n, id := person(s); n != "" {
			a.Approvers = append(a.Approvers, n)
			a.ApproverIDs = append(a.ApproverIDs, id)
		}
	}
	for p := range strings.SplitSeq(approvers, ", ") {
		cur = append(cur, p)
		if strings.HasSuffix(p, ")") || looksLikeUserID(p) {
			add(strings.Join(cur, ", "))
			cur = cur[:0]
		}
	}
	add(strings.Join(cur, ", "))
	return a, a.Requester != "" && len(a.Approvers) > 0
}

// looksLikeUserID reports a Slack user ID such as U0123ABC.
func looksLikeUserID(s string) bool {
	if len(s) < 2 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// person returns "name" and "id" from "name (id)" or "name (id", and a
// bare user ID as both; id is "" when s names none.
func person(s string) (name, id string) {
	s = strings.TrimSpace(s)
	if looksLikeUserID(s) {
		return s, s
	}
	if i := strings.LastIndex(s, " ("); i >= 0 {
		id = strings.TrimSuffix(strings.TrimSpace(s[i+2:]), ")")
		if !looksLikeUserID(id) {
			id = ""
		}
		s = s[:i]
	}
	return strings.TrimSpace(s), id
}
