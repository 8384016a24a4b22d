package ld

import "encoding/json"

// The types below are the parts of LaunchDarkly's REST API (LD-API-Version
// 20240415) that Flagbot reads. Decoding is tolerant: every field is optional
// and unknown fields are ignored. Environment SDK keys, mobile keys and
// client-side IDs are deliberately absent so they can never be shown or logged.

// Link is a host-relative link in a _links or _site object.
type Link struct {
	Href string `json:"href"`
	Type string `json:"type,omitempty"`
}

// CallerIdentity is the answer of GET /api/v2/caller-identity.
type CallerIdentity struct {
	AccountID    string `json:"accountId,omitempty"`
	TokenID      string `json:"tokenId,omitempty"`
	TokenName    string `json:"tokenName,omitempty"`
	TokenKind    string `json:"tokenKind,omitempty"`
	AuthKind     string `json:"authKind,omitempty"`
	MemberID     string `json:"memberId,omitempty"`
	ServiceToken bool   `json:"serviceToken,omitempty"`
}

// Token is an access token's metadata from GET /api/v2/tokens/{id}. Ending
// holds at most the last four characters LaunchDarkly returns in "token".
type Token struct {
	ID            string   `json:"_id"`
	Name          string   `json:"name,omitempty"`
	Role          string   `json:"role,omitempty"` // reader, writer, admin, or empty for custom roles
	CustomRoleIDs []string `json:"customRoleIds,omitempty"`
	ServiceToken  bool     `json:"serviceToken,omitempty"`
	MemberID      string   `json:"memberId,omitempty"`
	Ending        string   `json:"token,omitempty"`
}

// Project is a LaunchDarkly project.
type Project struct {
	Key  string   `json:"key"`
	Name string   `json:"name,omitempty"`
	Tags []string `json:"tags,omitempty"`
}

// ApprovalSettings are an environment's LaunchDarkly approval settings.
type ApprovalSettings struct {
	Required            bool `json:"required,omitempty"`
	MinNumApprovals     int  `json:"minNumApprovals,omitempty"`
	CanReviewOwnRequest bool `json:"canReviewOwnRequest,omitempty"`
}

// Environment is a project's environment, without its SDK or mobile keys.
type Environment struct {
	Key              string            `json:"key"`
	Name             string            `json:"name,omitempty"`
	Color            string            `json:"color,omitempty"`
	Critical         bool              `json:"critical,omitempty"`
	RequireComments  bool              `json:"requireComments,omitempty"`
	ConfirmChanges   bool              `json:"confirmChanges,omitempty"`
	Tags             []string          `json:"tags,omitempty"`
	ApprovalSettings *ApprovalSettings `json:"approvalSettings,omitempty"`
}

// Member is the short form of a LaunchDarkly account member.
type Member struct {
	ID        string `json:"_id,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// Variation is one of a flag's variations. Value is kept as raw JSON.
type Variation struct {
	ID          string          `json:"_id,omitempty"`
	Value       json.RawMessage `json:"value"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
}

// Defaults are the variation indexes a new environment starts with.
type Defaults struct {
	OnVariation  int `json:"onVariation"`
	OffVariation int `json:"offVariation"`
}

// WeightedVariation is one slice of a percentage rollout; Weight is in
// thousandths of a percent (25000 = 25%).
type WeightedVariation struct {
	Variation int `json:"variation"`
	Weight    int `json:"weight"`
}

// Rollout is a percentage rollout.
type Rollout struct {
	Variations  []WeightedVariation `json:"variations"`
	BucketBy    string              `json:"bucketBy,omitempty"`
	ContextKind string              `json:"contextKind,omitempty"`
}

// VariationOrRollout is either a fixed variation index or a rollout.
type VariationOrRollout struct {
	Variation *int     `json:"variation,omitempty"`
	Rollout   *Rollout `json:"rollout,omitempty"`
}

// Target lists the context keys served one variation.
type Target struct {
	Values      []string `json:"values"`
	Variation   int      `json:"variation"`
	ContextKind string   `json:"contextKind,omitempty"`
}

// Rule is a targeting rule.
type Rule struct {
	ID          string            `json:"_id,omitempty"`
	Variation   *int              `json:"variation,omitempty"`
	Rollout     *Rollout          `json:"rollout,omitempty"`
	Description string            `json:"description,omitempty"`
	Clauses     []json.RawMessage `json:"clauses,omitempty"`
}

// Prerequisite is a flag that must serve a variation first.
type Prerequisite struct {
	Key       string `json:"key"`
	Variation int    `json:"variation"`
}

// VariationSummary is a variation's entry in a flag environment's _summary.
type VariationSummary struct {
	Rules          int  `json:"rules,omitempty"`
	NullRules      int  `json:"nullRules,omitempty"`
	Targets        int  `json:"targets,omitempty"`
	ContextTargets int  `json:"contextTargets,omitempty"`
	IsFallthrough  bool `json:"isFallthrough,omitempty"`
	IsOff          bool `json:"isOff,omitempty"`
	Rollout        int  `json:"rollout,omitempty"`
}

// FlagSummary is the _summary of a flag environment in list responses.
type FlagSummary struct {
	Variations    map[string]VariationSummary `json:"variations,omitempty"`
	Prerequisites int                         `json:"prerequisites,omitempty"`
}

// FlagEnvironment is a flag's configuration in one environment.
type FlagEnvironment struct {
	On              bool                `json:"on"`
	Archived        bool                `json:"archived,omitempty"`
	Version         int                 `json:"version,omitempty"`
	LastModified    int64               `json:"lastModified,omitempty"`
	Site            Link                `json:"_site"`
	EnvironmentName string              `json:"_environmentName,omitempty"`
	OffVariation    *int                `json:"offVariation,omitempty"`
	Fallthrough     *VariationOrRollout `json:"fallthrough,omitempty"`
	Targets         []Target            `json:"targets,omitempty"`
	ContextTargets  []Target            `json:"contextTargets,omitempty"`
	Rules           []Rule              `json:"rules,omitempty"`
	Prerequisites   []Prerequisite      `json:"prerequisites,omitempty"`
	Summary         *FlagSummary        `json:"_summary,omitempty"`
}

// Flag is a feature flag; Environments holds only the environments asked for.
type Flag struct {
	Key          string                     `json:"key"`
	Name         string                     `json:"name,omitempty"`
	Description  string                     `json:"description,omitempty"`
	Kind         string                     `json:"kind,omitempty"` // boolean or multivariate
	Version      int                        `json:"_version,omitempty"`
	Archived     bool                       `json:"archived,omitempty"`
	Deprecated   bool                       `json:"deprecated,omitempty"`
	Temporary    bool                       `json:"temporary,omitempty"`
	Tags         []string                   `json:"tags,omitempty"`
	CreationDate int64                      `json:"creationDate,omitempty"`
	Maintainer   *Member                    `json:"_maintainer,omitempty"`
	Variations   []Variation                `json:"variations,omitempty"`
	Defaults     *Defaults                  `json:"defaults,omitempty"`
	Environments map[string]FlagEnvironment `json:"environments,omitempty"`
}

// FlagPage is one page of a flag list.
type FlagPage struct {
	Items      []Flag
	TotalCount int
}

// SegmentTarget lists context keys of one kind included in or excluded from
// a segment.
type SegmentTarget struct {
	ContextKind string   `json:"contextKind,omitempty"`
	Values      []string `json:"values"`
}

// FlagRef names a flag that uses a segment.
type FlagRef struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
}

// Segment is a segment in one environment.
type Segment struct {
	Key              string            `json:"key"`
	Name             string            `json:"name,omitempty"`
	Description      string            `json:"description,omitempty"`
	Tags             []string          `json:"tags,omitempty"`
	Version          int               `json:"version,omitempty"`
	CreationDate     int64             `json:"creationDate,omitempty"`
	LastModifiedDate int64             `json:"lastModifiedDate,omitempty"`
	Included         []string          `json:"included,omitempty"`
	Excluded         []string          `json:"excluded,omitempty"`
	IncludedContexts []SegmentTarget   `json:"includedContexts,omitempty"`
	ExcludedContexts []SegmentTarget   `json:"excludedContexts,omitempty"`
	Rules            []json.RawMessage `json:"rules,omitempty"`
	Unbounded        bool              `json:"unbounded,omitempty"`
	Flags            []FlagRef         `json:"_flags,omitempty"`
}

// ContextRecord is one context from a context search or lookup. Context is
// the raw context object (kind, key and attributes, or a multi-context).
type ContextRecord struct {
	Context       json.RawMessage `json:"context"`
	LastSeen      string          `json:"lastSeen,omitempty"` // RFC 3339 date-time
	ApplicationID string          `json:"applicationId,omitempty"`
}

// TokenSummary names the access token behind an audit-log entry.
type TokenSummary struct {
	ID           string `json:"_id,omitempty"`
	Name         string `json:"name,omitempty"`
	Ending       string `json:"ending,omitempty"`
	ServiceToken bool   `json:"serviceToken,omitempty"`
}

// Access is one action an audit-log entry records, on a resource specifier
// such as proj/web:env/production:flag/new-checkout.
type Access struct {
	Action   string `json:"action,omitempty"`
	Resource string `json:"resource,omitempty"`
}

// AuditTarget is the resource an audit-log entry is about.
type AuditTarget struct {
	Name      string   `json:"name,omitempty"`
	Resources []string `json:"resources,omitempty"`
}

// AuditEntry is one audit-log entry. Date is epoch milliseconds; Title and
// Description are Markdown.
type AuditEntry struct {
	ID               string        `json:"_id"`
	Date             int64         `json:"date"`
	Kind             string        `json:"kind,omitempty"`
	Name             string        `json:"name,omitempty"`
	Description      string        `json:"description,omitempty"`
	ShortDescription string        `json:"shortDescription,omitempty"`
	Title            string        `json:"title,omitempty"`
	TitleVerb        string        `json:"titleVerb,omitempty"`
	Comment          string        `json:"comment,omitempty"`
	Accesses         []Access      `json:"accesses,omitempty"`
	Member           *Member       `json:"member,omitempty"`
	Token            *TokenSummary `json:"token,omitempty"`
	Target           *AuditTarget  `json:"target,omitempty"`
}
