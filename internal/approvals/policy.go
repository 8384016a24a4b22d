package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/redisstore"
)

// Bounds of Policy.Approvals values.
const (
	MinApprovals = 1
	MaxApprovals = 5
)

// Policies stores each workspace's approval policy as JSON under
// redisstore.WorkspaceKey(team, enterprise, "policy"), without expiry. It
// implements commands.Policies.
type Policies struct {
	store *redisstore.Store
}

var _ commands.Policies = (*Policies)(nil)

// NewPolicies returns the policy store on s.
func NewPolicies(s *redisstore.Store) *Policies { return &Policies{store: s} }

// Policy returns ws's policy, or the zero Policy when none is stored.
func (p *Policies) Policy(ctx context.Context, ws commands.Workspace) (commands.Policy, error) {
	raw, err := p.store.Get(ctx, policyKey(ws))
	switch {
	case errors.Is(err, redisstore.ErrNotFound):
		return commands.Policy{}, nil
	case err != nil:
		return commands.Policy{}, fmt.Errorf("approvals: get policy: %w", err)
	}
	var pol commands.Policy
	if err := json.Unmarshal(raw, &pol); err != nil {
		return commands.Policy{}, fmt.Errorf("approvals: decode policy of %s: %w", ws.TeamID, err)
	}
	return pol, nil
}

// SetPolicy stores ws's policy, replacing the previous one. A required
// approval count outside 1..5 or an empty environment key is an error
// wrapping ErrInvalidPolicy, and nothing is stored.
func (p *Policies) SetPolicy(ctx context.Context, ws commands.Workspace, pol commands.Policy) error {
	for env, n := range pol.Approvals {
		if env == "" || n < MinApprovals || n > MaxApprovals {
			return fmt.Errorf("approvals: set policy: %w: %d approvals for environment %q (want %d to %d)",
				ErrInvalidPolicy, n, env, MinApprovals, MaxApprovals)
		}
	}
	for _, env := range pol.ApprovalEnvs {
		if env == "" {
			return fmt.Errorf("approvals: set policy: %w: empty environment key in approval envs", ErrInvalidPolicy)
		}
	}
	raw, err := json.Marshal(pol)
	if err != nil {
		return fmt.Errorf("approvals: encode policy: %w", err)
	}
	if err := p.store.Set(ctx, policyKey(ws), raw, 0); err != nil {
		return fmt.Errorf("approvals: set policy: %w", err)
	}
	return nil
}

func policyKey(ws commands.Workspace) string {
	return redisstore.WorkspaceKey(ws.TeamID, ws.EnterpriseID, "policy")
}
