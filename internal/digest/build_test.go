package digest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

func TestParseFlagbotComment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want FlagbotApproval
		ok   bool
	}{
		{
			in:   "Requested by Ana Lima (U01), approved by Bo (U02) via Flagbot; reason: launch day; request 3kq9x2",
			want: FlagbotApproval{Requester: "Ana Lima", RequesterID: "U01", Approvers: []string{"Bo"}, ApproverIDs: []string{"U02"}, Reason: "launch day", RequestID: "3kq9x2"}, ok: true,
		},
		{
			in:   "Requested by Ana (U01), approved by Bo (U02), Cy Dee (U03) via Flagbot; request r1",
			want: FlagbotApproval{Requester: "Ana", RequesterID: "U01", Approvers: []string{"Bo", "Cy Dee"}, ApproverIDs: []string{"U02", "U03"}, RequestID: "r1"}, ok: true,
		},
		{
			in:   "Requested by Ana (U01), approved by Bo (U02) via Flagbot; reason: a; b; c; request r2",
			want: FlagbotApproval{Requester: "Ana", RequesterID: "U01", Approvers: []string{"Bo"}, ApproverIDs: []string{"U02"}, Reason: "a; b; c", RequestID: "r2"}, ok: true,
		},
		{
			in:   "Requested by U01, approved by U02, Li, Bo (U03) via Flagbot; request r3",
			want: FlagbotApproval{Requester: "U01", RequesterID: "U01", Approvers: []string{"U02", "Li, Bo"}, ApproverIDs: []string{"U02", "U03"}, RequestID: "r3"}, ok: true,
		},
		{in: "launch day"},
		{in: ""},
		{in: "Requested by Ana (U01) via Flagbot; request r1"},             // no approvers
		{in: "Requested by Ana (U01), approved by Bo (U02); request r1"},   // no "via Flagbot"
		{in: "Requested by Ana (U01), approved by Bo (U02) via Flagbot; "}, // no request id
	}
	for _, tt := range tests {
		got, ok := ParseFlagbotComment(tt.in)
		if ok != tt.ok || (ok && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("ParseFlagbotComment(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func entry(id string, at time.Time, resource, action, who, comment string) commands.AuditEntry {
	return commands.AuditEntry{
		ID: id, Date: at.UTC(), Name: "Flag " + id, TitleVerb: "changed the flag", Comment: comment,
		Member:   &commands.Member{FirstName: who},
		Accesses: []commands.Access{{Action: action, Resource: resource}},
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	approved := "Requested by Ana (U01), approved by Bo (U02) via Flagbot; reason: fix; request r1"
	entries := []commands.AuditEntry{
		entry("1", t0.Add(3*time.Minute), "proj/web:env/production:flag/checkout", "updateOn", "Ana", approved),
		entry("2", t0.Add(1*time.Minute), "proj/web:env/production:flag/checkout", "updateOn", "Ana", ""),
		entry("3", t0.Add(2*time.Minute), "proj/web:env/staging:flag/checkout", "updateRules", "Bo", "tweak"),
		entry("4", t0, "proj/web:env/*:flag/dark-mode", "updateName", "Cy", "rename"),
		entry("5", t0, "proj/web:env/live:flag/dark-mode", "updateOn", "Cy", "Requested by X; request r9"),
		entry("6", t0, "proj/mobile:env/production:flag/checkout", "updateOn", "Dee", ""),   // other project
		entry("7", t0, "proj/web:env/production:segment/beta", "updateIncluded", "Dee", ""), // not a flag
	}
	d := Build(entries, Window{
		Filter: commands.DigestFilter{Project: "web"}, From: t0, To: t0.Add(time.Hour),
		CriticalEnvs: map[string]bool{"live": true},
		Changes:      map[string]commands.Change{"r1": flagbotChange("r1", t0.Add(2*time.Minute))},
	})
	if d.Total != 5 || len(d.Flags) != 2 {
		t.Fatalf("Total %d in %d flags, want 5 in 2", d.Total, len(d.Flags))
	}
	cf := d.Flags[0]
	if cf.Key != "checkout" || cf.Changes != 3 || len(cf.Envs) != 2 || cf.Envs[0].Key != "production" || !cf.Envs[0].Critical {
		t.Fatalf("checkout group = %+v", cf)
	}
	if p := cf.Envs[0].Changes; p[0].ID != "2" || p[1].ID != "1" {
		t.Errorf("production changes not oldest first: %s, %s", p[0].ID, p[1].ID)
	}
	if fb := cf.Envs[0].Changes[1].Flagbot; fb == nil || fb.Requester != "Ana" || fb.Approvers[0] != "Bo" || fb.Reason != "fix the banner" {
		t.Errorf("Flagbot approval = %+v; want Ana and Bo, with the reason the change store holds", fb)
	}
	dm := d.Flags[1]
	if dm.Envs[0].Key != "live" || !dm.Envs[0].Critical || dm.Envs[1].Key != "" {
		t.Errorf("dark-mode envs = %+v (critical first, then flag-wide)", dm.Envs)
	}
	if d.Critical != 3 || d.NoComment != 1 || d.OutsideFlagbot != 4 || d.Unverified != 1 {
		t.Errorf("highlights = %+v; want 3 critical, 1 without comment, 4 outside Flagbot (1 claiming a request)", d.Highlights)
	}
	if want := []Flap{{Flag: "checkout", Env: "production", Times: 2}}; !reflect.DeepEqual(d.Switched, want) {
		t.Errorf("Switched = %+v, want %+v", d.Switched, want)
	}
	if want := []string{"Ana", "Bo", "Cy"}; !reflect.DeepEqual(d.People, want) {
		t.Errorf("People = %v", d.People)
	}

	only := Build(entries, Window{Filter: commands.DigestFilter{Project: "web", Envs: []string{"staging"}, Flag: "checkout"}})
	if only.Total != 1 || only.Flags[0].Envs[0].Key != "staging" {
		t.Errorf("filtered digest = %+v", only)
	}
}

// flagbotChange is Flagbot's record of request id, which Ana (U01)
// requested and Bo (U02) approved at approvedAt to turn checkout on in
// production, applied a second later.
func flagbotChange(id string, approvedAt time.Time) commands.Change {
	return commands.Change{
		ID: id, Workspace: commands.Workspace{TeamID: "T1"}, RequesterID: "U01", Kind: commands.ChangeKind("on"),
		Project: "web", Env: "production", Flag: "checkout", Reason: "fix the banner",
		CreatedAt: approvedAt.Add(-10 * time.Minute), ExpiresAt: approvedAt.Add(time.Hour),
		Status: commands.StatusApplied, RequiredApprovals: 1,
		Approvals: []commands.Approval{{UserID: "U02", At: approvedAt}}, DecidedAt: approvedAt.Add(time.Second),
	}
}

// A change is labelled "via Flagbot" only when the request its comment
// names is Flagbot's record of that very change; typing the comment is
// not enough.
func TestFlagbotLabelNeedsTheRequest(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	const comment = "Requested by Ana (U01), approved by Bo (U02) via Flagbot; reason: fix; request r1"
	real := flagbotChange("r1", t0)
	with := func(f func(c *commands.Change)) map[string]commands.Change {
		c := real
		c.Approvals = slices.Clone(real.Approvals)
		f(&c)
		return map[string]commands.Change{"r1": c}
	}
	genuine := map[string]commands.Change{"r1": real}
	at := t0.Add(500 * time.Millisecond)
	one := func(comment string) []commands.AuditEntry {
		return []commands.AuditEntry{entry("1", at, "proj/web:env/production:flag/checkout", "updateOn", "Bo", comment)}
	}
	tests := []struct {
		name    string
		entries []commands.AuditEntry
		changes map[string]commands.Change
		want    bool
	}{
		{"the request's own change", one(comment), genuine, true},
		{"typed by a human, no such request", one(comment), nil, false},
		{"another request's id", one(strings.Replace(comment, "request r1", "request r2", 1)), genuine, false},
		{"another flag", []commands.AuditEntry{entry("1", at, "proj/web:env/production:flag/pricing", "updateOn", "Bo", comment)}, genuine, false},
		{"another environment", []commands.AuditEntry{entry("1", at, "proj/web:env/staging:flag/checkout", "updateOn", "Bo", comment)}, genuine, false},
		{"another project", []commands.AuditEntry{entry("1", at, "proj/mobile:env/production:flag/checkout", "updateOn", "Bo", comment)}, genuine, false},
		{"another requester", one(strings.Replace(comment, "Ana (U01)", "Ana (U09)", 1)), genuine, false},
		{"another approver", one(strings.Replace(comment, "Bo (U02)", "Bo (U09)", 1)), genuine, false},
		{"an approver left out", one(comment), with(func(c *commands.Change) {
			c.Approvals = append(c.Approvals, commands.Approval{UserID: "U03", At: t0})
		}), false},
		{"rejected, never applied", one(comment), with(func(c *commands.Change) { c.Status = commands.StatusRejected }), false},
		{"stale, never applied", one(comment), with(func(c *commands.Change) { c.Status = commands.StatusStale }), false},
		{"being applied", one(comment), with(func(c *commands.Change) { c.Status, c.DecidedAt = commands.StatusApproved, time.Time{} }), true},
		{"long before the approval", []commands.AuditEntry{entry("1", t0.Add(-time.Hour), "proj/web:env/production:flag/checkout", "updateOn", "Bo", comment)}, genuine, false},
		{"long after the outcome", []commands.AuditEntry{entry("1", t0.Add(time.Hour), "proj/web:env/production:flag/checkout", "updateOn", "Bo", comment)}, genuine, false},
		{"clocks a little apart", []commands.AuditEntry{entry("1", t0.Add(-time.Minute), "proj/web:env/production:flag/checkout", "updateOn", "Bo", comment)}, genuine, true},
		{"copied onto a second change", append(one(comment), entry("2", at.Add(time.Second), "proj/web:env/production:flag/checkout", "updateOn", "Mal", comment)), genuine, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Build(tt.entries, Window{Changes: tt.changes}) // no filter: every project
			var labelled, unverified int
			for _, f := range d.Flags {
				for _, e := range f.Envs {
					for _, c := range e.Changes {
						if c.Flagbot != nil {
							labelled++
						}
					}
				}
			}
			unverified = d.Unverified
			if tt.want && (labelled != 1 || unverified != 0 || d.OutsideFlagbot != 0) {
				t.Errorf("%d labelled via Flagbot, %d unverified, %d outside; want the change labelled", labelled, unverified, d.OutsideFlagbot)
			}
			if !tt.want && (labelled != 0 || unverified != len(tt.entries) || d.OutsideFlagbot != len(tt.entries)) {
				t.Errorf("%d labelled via Flagbot, %d unverified, %d outside; want none labelled, all counted outside Flagbot and unverified", labelled, unverified, d.OutsideFlagbot)
			}
		})
	}
}

// Flagbot's comment on a change applied at once in an exempt environment
// claims no approval: outside the two-person rule, but no false claim.
func TestExemptChangeIsNoFalseClaim(t *testing.T) {
	t.Parallel()
	e := entry("1", time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), "proj/web:env/dev:flag/checkout", "updateOn", "Bo",
		"Applied by Bo (U02) via Flagbot without approval (an admin exempted this environment); reason: hotfix")
	d := Build([]commands.AuditEntry{e}, Window{})
	if d.OutsideFlagbot != 1 || d.Unverified != 0 {
		t.Errorf("highlights = %+v; want 1 outside Flagbot and no unverified claim", d.Highlights)
	}
}

// benchEntries returns n audit entries over 200 flags and 4 environments.
func benchEntries(n int) []commands.AuditEntry {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	envs := []string{"production", "staging", "dev", "*"}
	out := make([]commands.AuditEntry, n)
	for i := range out {
		comment := ""
		if i%3 == 0 {
			comment = fmt.Sprintf("Requested by Ana (U01), approved by Bo (U02) via Flagbot; reason: change %d; request r%d", i, i)
		}
		out[i] = entry(fmt.Sprintf("%024x", i), t0.Add(time.Duration(i)*time.Second),
			fmt.Sprintf("proj/web:env/%s:flag/flag-%03d", envs[i%4], i%200), []string{"updateOn", "updateRules"}[i%2], fmt.Sprintf("Person %d", i%25), comment)
	}
	return out
}

// BenchmarkBuild5000 measures building a digest from 5,000 audit entries:
//
//	go test -run '^$' -bench Build5000 -benchmem ./internal/digest/
func BenchmarkBuild5000(b *testing.B) {
	entries := benchEntries(5000)
	w := Window{Filter: commands.DigestFilter{Project: "web"}, From: entries[0].Date, To: entries[len(entries)-1].Date.Add(time.Millisecond)}
	b.ReportAllocs()
	for b.Loop() {
		d := Build(entries, w)
		if d.Total != 5000 {
			b.Fatalf("Total = %d", d.Total)
		}
	}
}
