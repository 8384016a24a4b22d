package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

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
// implements commands.Policies: Update is a compare-and-swap of that JSON,
// so two admins changing different settings at once keep both.
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

// SetPolicy stores ws's policy, replacing the previous one. A policy
// outside the bounds (see validPolicy) is an error wrapping
// ErrInvalidPolicy, and nothing is stored.
func (p *Policies) SetPolicy(ctx context.Context, ws commands.Workspace, pol commands.Policy) error {
	raw, err := encodePolicy(pol)
	if err != nil {
		return fmt.Errorf("approvals: set policy: %w", err)
	}
	if err := p.store.Set(ctx, policyKey(ws), raw, 0); err != nil {
		return fmt.Errorf("approvals: set policy: %w", err)
	}
	return nil
}

// updateAttempts bounds how often Update runs fn while the policy keeps
// changing under it.
const updateAttempts = 8

// ErrPolicyContended is returned by Update when the policy kept changing
// under it for updateAttempts tries.
var ErrPolicyContended = errors.New("policy changed too often to update")

// Update changes ws's policy atomically; see commands.Policies. It reads
// the stored JSON, runs fn on it and writes the result only if the stored
// JSON is still the one read (compare-and-swap), else it starts again.
func (p *Policies) Update(ctx context.Context, ws commands.Workspace, fn func(*commands.Policy) error) (commands.Policy, error) {
	key := policyKey(ws)
	for range updateAttempts {
		old, err := p.store.Get(ctx, key)
		if err != nil && !errors.Is(err, redisstore.ErrNotFound) {
			return commands.Policy{}, fmt.Errorf("approvals: update policy: %w", err)
		}
		var pol commands.Policy
		if old != nil {
			if err := json.Unmarshal(old, &pol); err != nil {
				return commands.Policy{}, fmt.Errorf("approvals: decode policy of %s: %w", ws.TeamID, err)
			}
		}
		if err := fn(&pol); err != nil {
			return commands.Policy{}, err
		}
		raw, err := encodePolicy(pol)
		if err != nil {
			return commands.Policy{}, fmt.Errorf("approvals: update policy: %w", err)
		}
		swapped, err := p.store.CompareAndSwap(ctx, key, old, raw, 0)
		if err != nil {
			return commands.Policy{}, fmt.Errorf("approvals: update policy: %w", err)
		}
		if swapped {
			return pol, nil
		}
	}
	return commands.Policy{}, fmt.Errorf("approvals: update policy of %s: %w", ws.TeamID, ErrPolicyContended)
}

// encodePolicy validates pol and encodes it: a required approval count
// outside 1..5, or an empty environment or project key, is an error
// wrapping ErrInvalidPolicy.
func encodePolicy(pol commands.Policy) ([]byte, error) {
	for env, n := range pol.Approvals {
		if env == "" || n < MinApprovals || n > MaxApprovals {
			return nil, fmt.Errorf("%w: %d approvals for environment %q (want %d to %d)",
				ErrInvalidPolicy, n, env, MinApprovals, MaxApprovals)
		}
	}
	for project, envs := range pol.ExemptEnvs {
		if project == "" || slices.Contains(envs, "") {
			return nil, fmt.Errorf("%w: empty project or environment key in exempt envs", ErrInvalidPolicy)
		}
	}
	raw, err := json.Marshal(pol)
	if err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	return raw, nil
}

func policyKey(ws commands.Workspace) string {
	return redisstore.WorkspaceKey(ws.TeamID, ws.EnterpriseID, "policy")
}
