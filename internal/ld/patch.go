package ld

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Semantic-patch instruction kinds Flagbot sends. Environment-scoped kinds
// need SemanticPatch.EnvironmentKey; flag-wide kinds must not have it.
const (
	KindTurnFlagOn         = "turnFlagOn"                          // env
	KindTurnFlagOff        = "turnFlagOff"                         // env
	KindUpdateFallthrough  = "updateFallthroughVariationOrRollout" // env
	KindUpdateOffVariation = "updateOffVariation"                  // env
	KindAddTargets         = "addTargets"                          // env
	KindRemoveTargets      = "removeTargets"                       // env
	KindArchiveFlag        = "archiveFlag"                         // flag
	KindRestoreFlag        = "restoreFlag"                         // flag
	KindAddTags            = "addTags"                             // flag
	KindRemoveTags         = "removeTags"                          // flag
)

// Instruction is one semantic-patch instruction: Kind plus the fields that
// kind takes, all others left zero. Variations are named by their _id, not
// their index. Rollout weights are thousandths of a percent keyed by
// variation _id and sum to 100000.
type Instruction struct {
	Kind               string         `json:"kind"`
	VariationID        string         `json:"variationId,omitempty"`
	ContextKind        string         `json:"contextKind,omitempty"`
	Values             []string       `json:"values,omitempty"`
	RolloutWeights     map[string]int `json:"rolloutWeights,omitempty"`
	RolloutContextKind string         `json:"rolloutContextKind,omitempty"`
	RolloutBucketBy    string         `json:"rolloutBucketBy,omitempty"`
}

// SemanticPatch is the body of a flag semantic patch. Every instruction
// applies or none does. Comment lands in LaunchDarkly's audit log: name the
// people behind the change there.
type SemanticPatch struct {
	EnvironmentKey string        `json:"environmentKey,omitempty"`
	Comment        string        `json:"comment,omitempty"`
	Instructions   []Instruction `json:"instructions"`
	// DryRun asks LaunchDarkly to validate the patch and return the flag as
	// it would be, without saving it.
	DryRun bool `json:"-"`
}

// NewFlag is the body of a flag creation. LaunchDarkly defaults missing
// variations to a boolean pair; Temporary is always sent.
type NewFlag struct {
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Tags        []string    `json:"tags,omitempty"`
	Temporary   bool        `json:"temporary"`
	Variations  []Variation `json:"variations,omitempty"`
	Defaults    *Defaults   `json:"defaults,omitempty"`
}

// PatchFlag applies a semantic patch to the flag key of project and returns
// the flag as it is afterwards. Approval-gated environments answer with an
// error matching ErrMethodNotAllowed, invalid instructions ErrBadRequest,
// concurrent writes ErrConflict. Like every write it is retried only after
// a 429; after a timeout, re-read the flag rather than resending.
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/feature-flags/patch-feature-flag
func (c *Client) PatchFlag(ctx context.Context, project, key string, p SemanticPatch) (Flag, error) {
	if p.Instructions == nil {
		p.Instructions = []Instruction{}
	}
	ref := pathf("api/v2/flags", project, key)
	if p.DryRun {
		ref = withQuery(ref, url.Values{"dryRun": {"true"}})
	}
	req, err := c.newRequest(ctx, http.MethodPatch, ref, p, SemanticPatchContentType)
	if err != nil {
		return Flag{}, fmt.Errorf("ld: patch flag %q: %w", key, err)
	}
	var f Flag
	if err := c.do(req, &f); err != nil {
		return Flag{}, fmt.Errorf("ld: patch flag %q: %w", key, err)
	}
	return f, nil
}

// CreateFlag creates a flag in project and returns it. An existing key gives
// an error matching ErrConflict or ErrBadRequest (LaunchDarkly documents
// both).
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/feature-flags/post-feature-flag
func (c *Client) CreateFlag(ctx context.Context, project string, f NewFlag) (Flag, error) {
	req, err := c.newRequest(ctx, http.MethodPost, pathf("api/v2/flags", project), f, "")
	if err != nil {
		return Flag{}, fmt.Errorf("ld: create flag %q: %w", f.Key, err)
	}
	var out Flag
	if err := c.do(req, &out); err != nil {
		return Flag{}, fmt.Errorf("ld: create flag %q: %w", f.Key, err)
	}
	return out, nil
}

// DeleteFlag deletes the flag key from project, in every environment, for
// good. A flag that is still another flag's prerequisite gives an error
// matching ErrConflict. Prefer archiving (KindArchiveFlag).
//
// LaunchDarkly API docs: https://launchdarkly.com/docs/api/feature-flags/delete-feature-flag
func (c *Client) DeleteFlag(ctx context.Context, project, key string) error {
	req, err := c.newRequest(ctx, http.MethodDelete, pathf("api/v2/flags", project, key), nil, "")
	if err != nil {
		return fmt.Errorf("ld: delete flag %q: %w", key, err)
	}
	if err := c.do(req, nil); err != nil {
		return fmt.Errorf("ld: delete flag %q: %w", key, err)
	}
	return nil
}
