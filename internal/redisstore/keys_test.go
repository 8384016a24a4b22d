package redisstore_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/flagbot/flagbot/internal/redisstore"
)

func TestWorkspaceKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		team, ent string
		parts     []string
		want      string
	}{
		{name: "plain", team: "T0123ABC", want: "ws:_:{T0123ABC}"},
		{name: "enterprise", team: "T0123ABC", ent: "E0999", parts: []string{"connection"}, want: "ws:E0999:{T0123ABC}:connection"},
		{name: "parts", team: "T1", parts: []string{"approval", "a1b2"}, want: "ws:_:{T1}:approval:a1b2"},
		{name: "colon in team", team: "T1:x", want: "ws:_:{T1%3Ax}"},
		{name: "underscore enterprise", team: "T1", ent: "_", want: "ws:%5F:{T1}"},
		{name: "glob and braces", team: "T*?[]{}\\", want: "ws:_:{T%2A%3F%5B%5D%7B%7D%5C}"},
		{name: "percent", team: "T%3A", want: "ws:_:{T%253A}"},
		{name: "space and control", team: "T 1\n", want: "ws:_:{T%201%0A}"},
		{name: "colon in part", team: "T1", parts: []string{"a:b"}, want: "ws:_:{T1}:a%3Ab"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redisstore.WorkspaceKey(tt.team, tt.ent, tt.parts...)
			if got != tt.want {
				t.Errorf("redisstore.WorkspaceKey(%q, %q, %q) = %q, want %q", tt.team, tt.ent, tt.parts, got, tt.want)
			}
		})
		if prev, dup := seen[tt.want]; dup {
			t.Errorf("cases %q and %q share key %q", prev, tt.name, tt.want)
		}
		seen[tt.want] = tt.name
	}

	// IDs that would collide without escaping stay apart.
	if a, b := redisstore.WorkspaceKey("T1:x", ""), redisstore.WorkspaceKey("x", "T1"); a == b {
		t.Errorf("colliding keys %q", a)
	}
	if a, b := redisstore.WorkspaceKey("T1", "_"), redisstore.WorkspaceKey("T1", ""); a == b {
		t.Errorf("enterprise \"_\" collides with none: %q", a)
	}
}

func TestParseWorkspaceKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		key       string
		team, ent string
		parts     []string
		wantOK    bool
	}{
		{name: "plain", key: "ws:_:{T0123ABC}", team: "T0123ABC", wantOK: true},
		{name: "enterprise and parts", key: "ws:E0999:{T1}:digest:abc", team: "T1", ent: "E0999", parts: []string{"digest", "abc"}, wantOK: true},
		{name: "escaped", key: "ws:%5F:{T%3A1}:a%25b%3Ac%2A", team: "T:1", ent: "_", parts: []string{"a%b:c*"}, wantOK: true},
		{name: "empty part", key: "ws:_:{T1}:", team: "T1", parts: []string{""}, wantOK: true},
		{name: "layout before tags", key: "ws:E0999:T1:digest:abc", team: "T1", ent: "E0999", parts: []string{"digest", "abc"}, wantOK: true},
		{name: "half a tag", key: "ws:_:{T1:digest"},
		{name: "brace inside", key: "ws:_:T{1}:digest"},
		{name: "two tags", key: "ws:_:{T{1}}:digest"},
		{name: "empty", key: ""},
		{name: "too short", key: "ws:_"},
		{name: "other scheme", key: "x:_:T1:digest:a"},
		{name: "bad escape", key: "ws:_:T1:digest:%G1"},
		{name: "cut escape", key: "ws:_:T1:digest:%4"},
		{name: "bad team escape", key: "ws:_:%:digest"},
		{name: "bad enterprise escape", key: "ws:%zz:T1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			team, ent, parts, ok := redisstore.ParseWorkspaceKey(tt.key)
			if ok != tt.wantOK {
				t.Fatalf("ParseWorkspaceKey(%q) ok = %v, want %v", tt.key, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if team != tt.team || ent != tt.ent || !slices.Equal(parts, tt.parts) {
				t.Errorf("ParseWorkspaceKey(%q) = %q, %q, %q; want %q, %q, %q", tt.key, team, ent, parts, tt.team, tt.ent, tt.parts)
			}
		})
	}
}

// FuzzWorkspaceKeyRoundTrip: ParseWorkspaceKey reverses WorkspaceKey for
// any IDs and parts, and never panics on any input.
func FuzzWorkspaceKeyRoundTrip(f *testing.F) {
	f.Add("T0123ABC", "", "digest", "abc")
	f.Add("T:1", "_", "a%b:c*", "")
	f.Add("%", "%3A", "{x}", "\x00\xff")
	f.Fuzz(func(t *testing.T, team, ent, p1, p2 string) {
		key := redisstore.WorkspaceKey(team, ent, p1, p2)
		gotTeam, gotEnt, parts, ok := redisstore.ParseWorkspaceKey(key)
		if !ok || gotTeam != team || gotEnt != ent || !slices.Equal(parts, []string{p1, p2}) {
			t.Errorf("ParseWorkspaceKey(WorkspaceKey(%q, %q, %q, %q) = %q) = %q, %q, %q, %v",
				team, ent, p1, p2, key, gotTeam, gotEnt, parts, ok)
		}
		redisstore.ParseWorkspaceKey(team) // any string: no panic
	})
}

func TestEnterpriseKeyAndPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ent       string
		parts     []string
		key, ptrn string
	}{
		{ent: "E0999", parts: []string{"installation"}, key: "org:{E0999}:installation", ptrn: "ws:E0999:*"},
		{ent: "E*?", key: "org:{E%2A%3F}", ptrn: "ws:E%2A%3F:*"},
		{ent: "E:1", parts: []string{"a:b"}, key: "org:{E%3A1}:a%3Ab", ptrn: "ws:E%3A1:*"},
	}
	for _, tt := range tests {
		if got := redisstore.EnterpriseKey(tt.ent, tt.parts...); got != tt.key {
			t.Errorf("EnterpriseKey(%q, %q) = %q, want %q", tt.ent, tt.parts, got, tt.key)
		}
		if got := redisstore.EnterprisePattern(tt.ent); got != tt.ptrn {
			t.Errorf("EnterprisePattern(%q) = %q, want %q", tt.ent, got, tt.ptrn)
		}
	}
	if _, _, _, ok := redisstore.ParseWorkspaceKey(redisstore.EnterpriseKey("E1", "x")); ok {
		t.Error("an enterprise key parses as a workspace key")
	}
}

func TestUpgradeKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		old, want string
		ok        bool
	}{
		{old: "ws:_:T1:connection", want: "ws:_:{T1}:connection", ok: true},
		{old: "ws:E1:T1", want: "ws:E1:{T1}", ok: true},
		{old: "ws:_:T1:change:abc:x", want: "ws:_:{T1}:change:abc:x", ok: true},
		{old: "ws:_:T%3A1:policy", want: "ws:_:{T%3A1}:policy", ok: true},
		{old: "org:E1:installation", want: "org:{E1}:installation", ok: true},
		{old: "org:E1", want: "org:{E1}", ok: true},
		{old: "ws:_:{T1}:connection", want: "ws:_:{T1}:connection"},
		{old: "org:{E1}:installation", want: "org:{E1}:installation"},
		{old: "changes:expiry", want: "changes:expiry"},
		{old: "ws:_", want: "ws:_"},
		{old: "digests:due", want: "digests:due"},
	}
	for _, tt := range tests {
		got, ok := redisstore.UpgradeKey(tt.old)
		if got != tt.want || ok != tt.ok {
			t.Errorf("UpgradeKey(%q) = %q, %v; want %q, %v", tt.old, got, ok, tt.want, tt.ok)
		}
	}
	// Every key of today's layout is left alone, a key of the old layout
	// becomes what WorkspaceKey makes, and Untagged goes back.
	if got := redisstore.Untagged("changes:workspaces"); got != "changes:workspaces" {
		t.Errorf("Untagged of an untagged key = %q", got)
	}
	if got := redisstore.Untagged(redisstore.EnterpriseKey("E1", "installation")); got != "org:E1:installation" {
		t.Errorf("Untagged(org key) = %q", got)
	}
	for _, team := range []string{"T1", "T:1", "T{1}", "_"} {
		key := redisstore.WorkspaceKey(team, "E1", "change", "x")
		if got, ok := redisstore.UpgradeKey(key); ok || got != key {
			t.Errorf("UpgradeKey(%q) = %q, %v; want it unchanged", key, got, ok)
		}
		old := strings.Replace(strings.Replace(key, "{", "", 1), "}", "", 1)
		if got, ok := redisstore.UpgradeKey(old); !ok || got != key {
			t.Errorf("UpgradeKey(%q) = %q, %v; want %q", old, got, ok, key)
		}
		if got := redisstore.Untagged(key); got != old {
			t.Errorf("Untagged(%q) = %q, want %q", key, got, old)
		}
	}
}
