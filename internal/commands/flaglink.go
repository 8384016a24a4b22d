package commands

import (
	"net/url"
	"strings"
)

// FlagLink is a link to a flag in LaunchDarkly's UI, taken apart. Env is
// empty when the link names none.
type FlagLink struct {
	Project string
	Env     string
	Flag    string
}

// maxFlagLinkLen bounds the URLs ParseFlagLink reads.
const maxFlagLinkLen = 2000

// ParseFlagLink reads raw as a link to a flag in LaunchDarkly's UI at
// baseURL: https://host/projects/<project>/flags/<key> (the environment in
// an env or selected-env query parameter, if any) or
// https://host/<project>/<env>/features/<key>, either followed by more
// path (…/targeting). The scheme and host must be baseURL's; any other
// link is not a flag link. Slack's &amp; escapes are undone first.
func ParseFlagLink(baseURL, raw string) (FlagLink, bool) {
	if len(raw) > maxFlagLinkLen {
		return FlagLink{}, false
	}
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || base.Host == "" {
		return FlagLink{}, false
	}
	u, err := url.Parse(strings.ReplaceAll(strings.TrimSpace(raw), "&amp;", "&"))
	if err != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) || u.User != nil {
		return FlagLink{}, false
	}
	path := strings.TrimPrefix(u.EscapedPath(), strings.TrimRight(base.EscapedPath(), "/"))
	var segs []string
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		s, err := url.PathUnescape(s)
		if err != nil {
			return FlagLink{}, false
		}
		segs = append(segs, s)
	}
	var l FlagLink
	switch {
	case len(segs) >= 4 && segs[0] == "projects" && segs[2] == "flags":
		l = FlagLink{Project: segs[1], Flag: segs[3]}
		q := u.Query()
		for _, k := range []string{"env", "selected-env"} {
			if e := q.Get(k); e != "" {
				l.Env = e
				break
			}
		}
	case len(segs) >= 4 && segs[2] == "features":
		l = FlagLink{Project: segs[0], Env: segs[1], Flag: segs[3]}
	default:
		return FlagLink{}, false
	}
	if !validKey(l.Project) || !validKey(l.Flag) || (l.Env != "" && !validKey(l.Env)) {
		return FlagLink{}, false
	}
	return l, true
}

// FlagLink reads raw as a link to a flag on the LaunchDarkly this Executor
// talks to (Options.BaseURL); see ParseFlagLink.
func (e *Executor) FlagLink(raw string) (FlagLink, bool) { return ParseFlagLink(e.opts.BaseURL, raw) }

// Show is the command that shows the linked flag.
func (l FlagLink) Show() Show { return Show{Project: l.Project, Env: l.Env, Flag: l.Flag} }
