package approvals

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
)

func TestPolicies(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		p := NewPolicies(s)
		ctx := t.Context()
		if got, err := p.Policy(ctx, wsA()); err != nil || !reflect.DeepEqual(got, commands.Policy{}) {
			t.Fatalf("Policy with none stored = %+v, %v; want the zero Policy", got, err)
		}
		tests := []struct {
			name string
			ws   commands.Workspace
			pol  commands.Policy
		}{
			{name: "everything", ws: wsA(), pol: commands.Policy{
				RequireReason: true, ApproverGroup: "S0OPS",
				Approvals:        map[string]int{"production": 2, "staging": 1, "dr": 5},
				ExemptEnvs:       map[string][]string{"web": {"development", "staging"}},
				GuestsMayRequest: true, LegacyApprovalEnvs: []string{"production"},
			}},
			{name: "replaced by less", ws: wsA(), pol: commands.Policy{RequireReason: true}},
			{name: "other workspace", ws: wsB(), pol: commands.Policy{Approvals: map[string]int{"production": 3}}},
			{name: "back to zero", ws: wsA(), pol: commands.Policy{}},
		}
		for _, tt := range tests {
			if err := p.SetPolicy(ctx, tt.ws, tt.pol); err != nil {
				t.Fatalf("%s: SetPolicy: %v", tt.name, err)
			}
			if got, err := p.Policy(ctx, tt.ws); err != nil || !reflect.DeepEqual(got, tt.pol) {
				t.Errorf("%s: Policy = %+v, %v; want %+v", tt.name, got, err, tt.pol)
			}
		}
		if got, err := p.Policy(ctx, wsB()); err != nil || got.Approvals["production"] != 3 {
			t.Errorf("workspace B's policy = %+v, %v; changed by A's", got, err)
		}

		keep := commands.Policy{Approvals: map[string]int{"production": 2}}
		if err := p.SetPolicy(ctx, wsA(), keep); err != nil {
			t.Fatal(err)
		}
		invalid := []struct {
			name string
			pol  commands.Policy
		}{
			{name: "zero approvals", pol: commands.Policy{Approvals: map[string]int{"production": 0}}},
			{name: "six approvals", pol: commands.Policy{Approvals: map[string]int{"production": 6}}},
			{name: "empty env in approvals", pol: commands.Policy{Approvals: map[string]int{"": 2}}},
			{name: "empty exempt env", pol: commands.Policy{ExemptEnvs: map[string][]string{"web": {"staging", ""}}}},
			{name: "empty exempt project", pol: commands.Policy{ExemptEnvs: map[string][]string{"": {"staging"}}}},
		}
		for _, tt := range invalid {
			if err := p.SetPolicy(ctx, wsA(), tt.pol); !errors.Is(err, ErrInvalidPolicy) || errors.Is(err, redisstore.ErrUnavailable) {
				t.Errorf("%s: SetPolicy = %v, want ErrInvalidPolicy", tt.name, err)
			}
		}
		if got, err := p.Policy(ctx, wsA()); err != nil || !reflect.DeepEqual(got, keep) {
			t.Errorf("an invalid SetPolicy changed the policy to %+v, %v", got, err)
		}
	})
}

// TestPolicyEditsNeverLoseEachOther: admins changing different settings
// at once (`config approvals production 3` and `config approvers
// @release`, and more) all keep their change. With a read, then a blind
// write, the last writer dropped the others' settings.
func TestPolicyEditsNeverLoseEachOther(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		for rep := range 50 {
			ws := commands.Workspace{TeamID: fmt.Sprintf("T%03d", rep)}
			edits := []func(*commands.Policy) error{
				func(p *commands.Policy) error { p.RequireReason = true; return nil },
				func(p *commands.Policy) error { p.ApproverGroup = "S0REL"; return nil },
				func(p *commands.Policy) error { p.GuestsMayRequest = true; return nil },
				func(p *commands.Policy) error {
					p.Approvals = map[string]int{"production": 3}
					return nil
				},
				func(p *commands.Policy) error {
					p.ExemptEnvs = map[string][]string{"web": {"staging"}}
					return nil
				},
			}
			var wg sync.WaitGroup
			for i, edit := range edits {
				store := s
				if i%2 == 1 {
					store = replica(t, s)
				}
				p := NewPolicies(store)
				wg.Go(func() {
					if _, err := p.Update(t.Context(), ws, edit); err != nil {
						t.Errorf("Update: %v", err)
					}
				})
			}
			wg.Wait()
			got, err := NewPolicies(s).Policy(t.Context(), ws)
			want := commands.Policy{RequireReason: true, ApproverGroup: "S0REL", GuestsMayRequest: true,
				Approvals: map[string]int{"production": 3}, ExemptEnvs: map[string][]string{"web": {"staging"}}}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("repetition %d: policy = %+v, %v; want every edit: %+v", rep, got, err, want)
			}
		}
	})
}

func TestPoliciesUnavailable(t *testing.T) {
	t.Parallel()
	s := redistest.NewTestStore(t)
	p := NewPolicies(s)
	s.EmbeddedServer().Stop()
	t.Cleanup(func() { _ = s.EmbeddedServer().Restart() })
	if _, err := p.Policy(t.Context(), wsA()); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("Policy while Redis is down: %v, want redisstore.ErrUnavailable", err)
	}
	if err := p.SetPolicy(t.Context(), wsA(), commands.Policy{}); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Errorf("SetPolicy while Redis is down: %v, want redisstore.ErrUnavailable", err)
	}
}
