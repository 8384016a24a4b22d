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
//
// A workspace that joins an Enterprise Grid org keeps its policy: Slack
// sends an enterprise ID from then on, and the first Policy or Update with
// it moves the policy stored without one (ws:_:{team}:policy) under the new
// key, in one atomic step; SetPolicy with an enterprise removes the old key.
type Policies struct {
	store *redisstore.Store

	move, setGrid *redisstore.Script
}

var _ commands.Policies = (*Policies)(nil)

// luaMovePolicy moves the policy KEYS[1] (the team's key from before it
// joined an Enterprise Grid org) to KEYS[2] (its key in the org) if KEYS[2]
// does not exist and KEYS[1] still holds ARGV[1]. It returns 1 when it
// moved it, 0 when KEYS[2] exists (nothing is overwritten) and -1 when
// KEYS[1] changed.
const luaMovePolicy = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
`

// luaSetGridPolicy stores ARGV[1] under KEYS[1] and removes KEYS[2], the
// team's key from before it joined the org.
const luaSetGridPolicy = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
`

// moveAttempts bounds how often a move into an org retries after racing a
// write.
const moveAttempts = 5

// NewPolicies returns the policy store on s.
func NewPolicies(s *redisstore.Store) *Policies {
	return &Policies{store: s, move: redisstore.NewScript(luaMovePolicy), setGrid: redisstore.NewScript(luaSetGridPolicy)}
}

// Policy returns ws's policy, or the zero Policy when none is stored.
func (p *Policies) Policy(ctx context.Context, ws commands.Workspace) (commands.Policy, error) {
	raw, err := p.get(ctx, ws)
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
	if ws.EnterpriseID == "" {
		err = p.store.Set(ctx, policyKey(ws), raw, 0)
	} else {
		_, err = p.store.Run(ctx, p.setGrid, []string{policyKey(ws), legacyPolicyKey(ws)}, raw)
	}
	if err != nil {
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
		old, err := p.get(ctx, ws)
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

// get returns the stored JSON of ws's policy (an error wrapping
// redisstore.ErrNotFound when there is none), moving it into ws's
// Enterprise Grid org first when it is still under the team's key from
// before the team joined.
func (p *Policies) get(ctx context.Context, ws commands.Workspace) ([]byte, error) {
	raw, err := p.store.Get(ctx, policyKey(ws))
	if errors.Is(err, redisstore.ErrNotFound) && ws.EnterpriseID != "" {
		return p.moveIntoGrid(ctx, ws)
	}
	return raw, err
}

// moveIntoGrid returns the policy ws's team had before it joined ws's
// Enterprise Grid org, moved under ws's key; an error wrapping
// redisstore.ErrNotFound when there is none.
func (p *Policies) moveIntoGrid(ctx context.Context, ws commands.Workspace) ([]byte, error) {
	key, old := policyKey(ws), legacyPolicyKey(ws)
	for range moveAttempts {
		raw, err := p.store.Get(ctx, old)
		if errors.Is(err, redisstore.ErrNotFound) {
			return p.store.Get(ctx, key) // moved by another replica meanwhile, or none
		}
		if err != nil {
			return nil, err
		}
		moved, err := p.store.Run(ctx, p.move, []string{old, key}, raw)
		switch {
		case err != nil:
			return nil, fmt.Errorf("approvals: move policy into enterprise %s: %w", ws.EnterpriseID, err)
		case moved == int64(1):
			return raw, nil
		case moved == int64(0):
			return p.store.Get(ctx, key)
		}
		// The old policy changed in between: read it again.
	}
	return nil, fmt.Errorf("approvals: move policy into enterprise %s: %w", ws.EnterpriseID, ErrPolicyContended)
}

func policyKey(ws commands.Workspace) string {
	return redisstore.WorkspaceKey(ws.TeamID, ws.EnterpriseID, "policy")
}

// legacyPolicyKey is the policy key of ws's team outside any Enterprise
// Grid org.
func legacyPolicyKey(ws commands.Workspace) string {
	return redisstore.WorkspaceKey(ws.TeamID, "", "policy")
}
