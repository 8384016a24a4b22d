package redisstore

import (
	"strconv"
	"strings"
)

// This file is Flagbot's one key scheme for workspace data: every package
// that keeps data of a Slack workspace in Redis builds its keys with
// WorkspaceKey and reads them back with ParseWorkspaceKey. A change of the
// scheme is a change of this file (and of UpgradeKey, which moves keys of
// the scheme before it; see migrate.go).
//
// Redis Cluster: every key of one workspace carries the workspace's team ID
// as its hash tag ({T1}), so all of them live in one slot and one Lua
// script may touch any of them. The tag is the team ID, not the
// enterprise ID, because Slack team IDs are globally unique and a
// workspace that joins an Enterprise Grid org keeps its team ID: its keys
// move from ws:_:{T1}:... to ws:E1:{T1}:... within one slot, so the
// scripts that move them stay single-slot. An org's own data
// (EnterpriseKey) is tagged with the enterprise ID ({E1}). The escaping of
// segments turns '{' and '}' into %7B and %7D, so an ID can never close a
// tag early or open a second one, and Options.Prefix may not contain
// either (Open refuses it): the first '{' of every Flagbot key is the one
// that opens its tag.

// noEnterprise stands for the enterprise segment of a workspace that is not
// part of an Enterprise Grid org.
const noEnterprise = "_"

// WorkspaceKey returns the key (without the Store's prefix) under which data
// of one Slack workspace is kept:
//
//	ws:<enterpriseID or _>:{<teamID>}:part1:part2...
//
// for example ws:_:{T0123ABC}:connection. The braces around the team ID
// are literal: they are the key's Redis Cluster hash tag.
//
// Each segment is percent-escaped: '%', ':', '_', '{', '}', '[', ']', '*',
// '?', '\', spaces and control bytes become %XX (upper-case hex). So an ID
// containing ':' or a SCAN pattern character can neither collide with
// another workspace's keys nor widen a pattern, and an enterprise ID of "_"
// stays distinct from none. Slack IDs such as T0123ABC pass through
// unchanged. The Store adds its prefix in front when the key is used.
func WorkspaceKey(teamID, enterpriseID string, parts ...string) string {
	var b strings.Builder
	b.WriteString("ws:")
	if enterpriseID == "" {
		b.WriteString(noEnterprise)
	} else {
		b.WriteString(escapeSegment(enterpriseID))
	}
	b.WriteString(":{")
	b.WriteString(escapeSegment(teamID))
	b.WriteByte('}')
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(escapeSegment(p))
	}
	return b.String()
}

// escapeSegment percent-encodes the bytes of s that have a meaning in
// Flagbot's keys or in Redis glob patterns. Escaping '%' itself keeps the
// encoding injective, so distinct segments give distinct keys.
func escapeSegment(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&0x0f])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func needsEscape(c byte) bool {
	switch c {
	case '%', ':', '_', '{', '}', '[', ']', '*', '?', '\\':
		return true
	}
	return c <= ' ' || c == 0x7f
}

// ParseWorkspaceKey reverses WorkspaceKey: given a key it made (without the
// Store's prefix), it returns the team ID, the enterprise ID ("" for none)
// and the parts. ok is false when key is not such a key. A key of the
// layout before hash tags (ws:_:T1:..., see UpgradeKey) parses too.
func ParseWorkspaceKey(key string) (teamID, enterpriseID string, parts []string, ok bool) {
	segs := strings.Split(key, ":")
	if len(segs) < 3 || segs[0] != "ws" {
		return "", "", nil, false
	}
	if t, tagged := untag(segs[2]); tagged {
		segs[2] = t
	} else if strings.ContainsAny(segs[2], "{}") {
		return "", "", nil, false
	}
	if segs[1] != noEnterprise {
		if enterpriseID, ok = unescapeSegment(segs[1]); !ok {
			return "", "", nil, false
		}
	}
	if teamID, ok = unescapeSegment(segs[2]); !ok {
		return "", "", nil, false
	}
	for _, seg := range segs[3:] {
		p, ok := unescapeSegment(seg)
		if !ok {
			return "", "", nil, false
		}
		parts = append(parts, p)
	}
	return teamID, enterpriseID, parts, true
}

// unescapeSegment reverses escapeSegment. ok is false for a '%' not
// followed by two hex digits.
func unescapeSegment(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b = append(b, byte(n))
		i += 2
	}
	return string(b), true
}

// EnterpriseKey returns the key (without the Store's prefix) under which
// data of a whole Enterprise Grid org, not of one of its workspaces, is
// kept (an org-wide installation):
//
//	org:{<enterpriseID>}:part1:part2...
//
// The braces are literal: the enterprise ID is the key's hash tag.
// Segments are escaped as in WorkspaceKey, and the "org:" space never
// meets the "ws:" space of workspace keys.
func EnterpriseKey(enterpriseID string, parts ...string) string {
	var b strings.Builder
	b.WriteString("org:{")
	b.WriteString(escapeSegment(enterpriseID))
	b.WriteByte('}')
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(escapeSegment(p))
	}
	return b.String()
}

// EnterprisePattern returns the SCAN pattern (without the Store's prefix)
// that matches every workspace key of the Enterprise Grid org
// enterpriseID (not empty): ws:<enterpriseID>:*. The escaping of
// WorkspaceKey keeps an ID from widening it.
func EnterprisePattern(enterpriseID string) string {
	return "ws:" + escapeSegment(enterpriseID) + ":*"
}

// untag returns the inside of a segment written as {inside}, and whether
// seg is one.
func untag(seg string) (string, bool) {
	if len(seg) >= 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		inner := seg[1 : len(seg)-1]
		return inner, !strings.ContainsAny(inner, "{}")
	}
	return "", false
}

// UpgradeKey returns the key (without the Store's prefix) that key, written
// in the layout before hash tags, has now, and true; for a key that is not
// a workspace or enterprise key of that layout (a key of today's layout
// included) it returns key and false:
//
//	ws:E1:T1:part...  ->  ws:E1:{T1}:part...
//	org:E1:part...    ->  org:{E1}:part...
//
// It is the renaming of the one-time layout migration (Store.UpgradeLayout).
func UpgradeKey(key string) (string, bool) {
	segs := strings.SplitN(key, ":", 4)
	switch {
	case len(segs) >= 3 && segs[0] == "ws" && !strings.ContainsAny(segs[2], "{}") && !strings.ContainsAny(segs[1], "{}"):
		segs[2] = "{" + segs[2] + "}"
	case len(segs) >= 2 && segs[0] == "org" && !strings.ContainsAny(segs[1], "{}"):
		segs[1] = "{" + segs[1] + "}"
	default:
		return key, false
	}
	return strings.Join(segs, ":"), true
}

// Untagged returns key (without the Store's prefix) without the braces of
// its hash tag: the name the key had in the layout before hash tags
// (UpgradeKey's inverse), and key itself when it has no tag. Data bound to
// its key's name, such as tokenstore's sealed tokens (the name is their
// additional authenticated data), binds to this form, so that what was
// sealed before the migration renamed its key still opens after it. It is
// as unique as key: escaped segments never hold a brace.
func Untagged(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i:], '}')
	if j < 0 {
		return key
	}
	return key[:i] + key[i+1:i+j] + key[i+j+1:]
}
