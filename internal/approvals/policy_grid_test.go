package approvals

import (
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
)

// TestPolicyMovesIntoGrid: a workspace that joins an Enterprise Grid org
// (Slack starts sending an enterprise ID for its team) keeps its policy:
// the first read with the enterprise moves it, atomically, and many
// replicas reading at once all see it.
func TestPolicyMovesIntoGrid(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *redisstore.Store) {
		ctx := t.Context()
		before := commands.Workspace{TeamID: "T0GRID"}
		inGrid := commands.Workspace{TeamID: "T0GRID", EnterpriseID: "E0ORG"}
		pol := commands.Policy{RequireReason: true, ApproverGroup: "S0REL", Approvals: map[string]int{"production": 2}}
		if err := NewPolicies(s).SetPolicy(ctx, before, pol); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				got, err := NewPolicies(replica(t, s)).Policy(ctx, inGrid)
				if err != nil || !reflect.DeepEqual(got, pol) {
					t.Errorf("Policy in the org = %+v, %v; want %+v", got, err, pol)
				}
			})
		}
		wg.Wait()
		if _, err := s.Get(ctx, legacyPolicyKey(inGrid)); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("old policy key still there after the move: %v", err)
		}
		if _, err := s.Get(ctx, policyKey(inGrid)); err != nil {
			t.Errorf("no policy under the org's key: %v", err)
		}

		// A policy set in the org before any read replaces the old one,
		// which never comes back.
		other := commands.Workspace{TeamID: "T0LATE", EnterpriseID: "E0ORG"}
		if err := NewPolicies(s).SetPolicy(ctx, commands.Workspace{TeamID: "T0LATE"}, pol); err != nil {
			t.Fatal(err)
		}
		p := NewPolicies(s)
		if err := p.SetPolicy(ctx, other, commands.Policy{}); err != nil {
			t.Fatal(err)
		}
		if got, err := p.Policy(ctx, other); err != nil || !reflect.DeepEqual(got, commands.Policy{}) {
			t.Errorf("Policy after SetPolicy in the org = %+v, %v; want the zero policy set there", got, err)
		}
		if _, err := s.Get(ctx, legacyPolicyKey(other)); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("SetPolicy in the org left the old policy: %v", err)
		}

		// The first write in the org is an Update: it starts from the
		// moved policy, not from nothing.
		upd := commands.Workspace{TeamID: "T0UPD", EnterpriseID: "E0ORG"}
		if err := p.SetPolicy(ctx, commands.Workspace{TeamID: "T0UPD"}, pol); err != nil {
			t.Fatal(err)
		}
		got, err := p.Update(ctx, upd, func(pl *commands.Policy) error { pl.RequireReason = false; return nil })
		want := pol
		want.RequireReason = false
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Update in the org = %+v, %v; want %+v (the old policy, changed)", got, err, want)
		}
		if got, err := p.Policy(ctx, upd); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Policy after Update in the org = %+v, %v; want %+v", got, err, want)
		}
		if _, err := s.Get(ctx, legacyPolicyKey(upd)); !errors.Is(err, redisstore.ErrNotFound) {
			t.Errorf("Update in the org left the old policy: %v", err)
		}

		// A workspace in an org with no policy anywhere has the zero one.
		if got, err := p.Policy(ctx, commands.Workspace{TeamID: "T0NONE", EnterpriseID: "E0ORG"}); err != nil || !reflect.DeepEqual(got, commands.Policy{}) {
			t.Errorf("Policy of a new workspace = %+v, %v", got, err)
		}
	})
}
