package playground

import (
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldfake"
)

func TestSeedLaunchDarkly(t *testing.T) {
	t.Parallel()
	s := ldfake.New()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	if err := SeedLaunchDarkly(s, now); err != nil {
		t.Fatal(err)
	}
	projects := s.Projects()
	if len(projects) != 2 {
		t.Fatalf("projects = %d, want 2", len(projects))
	}
	flags, kinds := 0, map[string]bool{}
	var rules, targets, prereqs, rollouts bool
	for _, p := range projects {
		if len(p.Environments) != 3 || p.Environments[0].Key != "production" || !p.Environments[0].Critical {
			t.Errorf("project %s environments = %+v, want production (critical) first of three", p.Key, p.Environments)
		}
		for _, f := range s.Flags(p.Key) {
			flags++
			kinds[f.Kind] = true
			for _, fe := range f.Environments {
				rules = rules || len(fe.Rules) > 0
				targets = targets || len(fe.Targets)+len(fe.ContextTargets) > 0
				prereqs = prereqs || len(fe.Prerequisites) > 0
				rollouts = rollouts || (fe.Fallthrough != nil && fe.Fallthrough.Rollout != nil)
			}
		}
	}
	if flags < 15 || !kinds["boolean"] || !kinds["multivariate"] || !rules || !targets || !prereqs || !rollouts {
		t.Errorf("flags = %d, kinds %v, rules %v, targets %v, prerequisites %v, rollouts %v; want 15+ of both kinds with all of them",
			flags, kinds, rules, targets, prereqs, rollouts)
	}
	audit := s.AuditLog(0)
	if len(audit) < 15 {
		t.Fatalf("audit entries = %d, want a week of them", len(audit))
	}
	oldest := time.UnixMilli(audit[len(audit)-1].Date)
	if d := now.Sub(oldest); d < 6*24*time.Hour || d > 8*24*time.Hour {
		t.Errorf("oldest audit entry is %v old, want about a week", d)
	}
}

func ldAuditEntry(title string) ld.AuditEntry {
	return ld.AuditEntry{Title: title, Name: "x", Kind: "flag"}
}
