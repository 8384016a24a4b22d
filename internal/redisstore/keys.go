package redisstore

import (
	"strconv"
	"strings"
)

// This file is Flagbot's one key scheme for workspace data: every package
// that keeps data of a Slack workspace in Redis builds its keys with
// WorkspaceKey and reads them back with ParseWorkspaceKey. A change of the
// scheme (such as a Redis Cluster hash tag) is a change of this file.

// noEnterprise stands for the enterprise segment of a workspace that is not
// part of an Enterprise Grid org.
const noEnterprise = "_"

// WorkspaceKey returns the key (without the Store's prefix) under which data
// of one Slack workspace is kept:
//
//	ws:{enterpriseID or _}:{teamID}:part1:part2...
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
	b.WriteByte(':')
	b.WriteString(escapeSegment(teamID))
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
// and the parts. ok is false when key is not such a key.
func ParseWorkspaceKey(key string) (teamID, enterpriseID string, parts []string, ok bool) {
	segs := strings.Split(key, ":")
	if len(segs) < 3 || segs[0] != "ws" {
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
//	org:{enterpriseID}:part1:part2...
//
// Segments are escaped as in WorkspaceKey, and the "org:" space never
// meets the "ws:" space of workspace keys.
func EnterpriseKey(enterpriseID string, parts ...string) string {
	var b strings.Builder
	b.WriteString("org:")
	b.WriteString(escapeSegment(enterpriseID))
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(escapeSegment(p))
	}
	return b.String()
}

// EnterprisePattern returns the SCAN pattern (without the Store's prefix)
// that matches every workspace key of the Enterprise Grid org
// enterpriseID (not empty): ws:{enterpriseID}:*. The escaping of
// WorkspaceKey keeps an ID from widening it.
func EnterprisePattern(enterpriseID string) string {
	return "ws:" + escapeSegment(enterpriseID) + ":*"
}
