package approvals

import "strings"

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
// unchanged. internal/tokenstore builds its connection keys the same way.
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
