package commands

import (
	"encoding/json"
	"time"
)

// The types in this file are LaunchDarkly's resources as the core sees them.
// internal/ld maps its wire types onto them; nothing here knows an HTTP
// path or a JSON field of LaunchDarkly's API. SDK keys, mobile keys and
// client-side IDs are absent on purpose: they can never be shown or logged.
// Variation values, rule clauses and contexts stay raw JSON because the core
// only ever shows them.

// CallerIdentity says which access token a LaunchDarkly client uses.
type CallerIdentity struct {
	TokenID   string
	TokenName string
}

// Token is an access token's metadata. Role is LaunchDarkly's built-in role
// (reader, writer, admin, …), empty for custom roles.
type Token struct {
	ID            string
	Name          string
	Role          string
	CustomRoleIDs []string
}

// Project is a LaunchDarkly project.
type Project struct {
	Key  string
	Name string
	Tags []string
}

// Environment is one of a project's environments.
type Environment struct {
	Key      string
	Name     string
	Color    string
	Critical bool
	// ApprovalRequired says LaunchDarkly itself requires approval for
	// flag changes here.
	ApprovalRequired bool
}

// Member is a LaunchDarkly account member.
type Member struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
}

// Variation is one of a flag's variations.
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
	Variation int
	Weight    int
}

// PercentRollout is a percentage rollout.
type PercentRollout struct {
	Variations  []WeightedVariation
	BucketBy    string
	ContextKind string
}

// VariationOrRollout is either a fixed variation index or a rollout.
type VariationOrRollout struct {
	Variation *int
	Rollout   *PercentRollout
}

// TargetList lists the context keys served one variation.
type TargetList struct {
	Values      []string
	Variation   int
	ContextKind string
}

// Rule is a targeting rule; its clauses stay raw JSON.
type Rule struct {
	ID          string
	Variation   *int
	Rollout     *PercentRollout
	Description string
	Clauses     []json.RawMessage
}

// Prerequisite is a flag that must serve a variation first.
type Prerequisite struct {
	Key       string
	Variation int
}

// VariationSummary counts what serves one variation in a flag list.
type VariationSummary struct {
	Rules          int
	NullRules      int
	Targets        int
	ContextTargets int
	IsFallthrough  bool
	IsOff          bool
	Rollout        int
}

// FlagSummary summarises a flag environment in a flag list.
type FlagSummary struct {
	Variations    map[string]VariationSummary
	Prerequisites int
}

// FlagEnvironment is a flag's configuration in one environment.
type FlagEnvironment struct {
	On              bool
	Archived        bool
	Version         int
	LastModified    time.Time
	SitePath        string // host-relative link into LaunchDarkly's UI
	EnvironmentName string
	OffVariation    *int
	Fallthrough     *VariationOrRollout
	Targets         []TargetList
	ContextTargets  []TargetList
	Rules           []Rule
	Prerequisites   []Prerequisite
	Summary         *FlagSummary
}

// Flag is a feature flag; Environments holds only the environments asked
// for.
type Flag struct {
	Key          string
	Name         string
	Description  string
	Kind         string // boolean or multivariate
	Version      int
	Archived     bool
	Deprecated   bool
	Temporary    bool
	Tags         []string
	CreationDate time.Time
	Maintainer   *Member
	Variations   []Variation
	Defaults     *Defaults
	Environments map[string]FlagEnvironment
}

// FlagPage is one page of a flag list.
type FlagPage struct {
	Items      []Flag
	TotalCount int
}

// FlagQuery filters and pages a flag list.
type FlagQuery struct {
	Env      string // include this environment's state
	Query    string // matched against key and name
	Tag      string
	Archived bool // list archived flags instead of live ones
	Limit    int  // page size; 0 means 20
	Offset   int
}

// SegmentTarget lists context keys of one kind included in or excluded from
// a segment.
type SegmentTarget struct {
	ContextKind string
	Values      []string
}

// FlagRef names a flag.
type FlagRef struct {
	Key  string
	Name string
}

// SegmentRecord is a segment in one environment.
type SegmentRecord struct {
	Key              string
	Name             string
	Description      string
	Tags             []string
	Version          int
	CreationDate     time.Time
	LastModified     time.Time
	Included         []string
	Excluded         []string
	IncludedContexts []SegmentTarget
	ExcludedContexts []SegmentTarget
	Rules            []json.RawMessage
	Unbounded        bool
	Flags            []FlagRef // flags that use it
}

// ContextRecord is one context as LaunchDarkly last saw it. Context is the
// raw context object (kind, key and attributes, or a multi-context).
type ContextRecord struct {
	Context       json.RawMessage
	LastSeen      string // RFC 3339 date-time
	ApplicationID string
}

// ContextQuery filters a context search.
type ContextQuery struct {
	Filter string // LaunchDarkly's filter syntax, e.g. `q equals "ana"`
	Limit  int    // 0 means 20; at most 50
}

// TokenSummary names the access token behind an audit-log entry.
type TokenSummary struct {
	ID           string
	Name         string
	Ending       string
	ServiceToken bool
}

// Access is one action an audit-log entry records, on a resource specifier
// such as proj/web:env/production:flag/new-checkout.
type Access struct {
	Action   string
	Resource string
}

// AuditEntry is one audit-log entry. Title and Description are Markdown.
type AuditEntry struct {
	ID               string
	Date             time.Time
	Kind             string
	Name             string
	Description      string
	ShortDescription string
	Title            string
	TitleVerb        string
	Comment          string
	Accesses         []Access
	Member           *Member
	Token            *TokenSummary
	TargetName       string
	TargetResources  []string
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	Spec   string    // resource specifier; see AuditSpec
	After  time.Time // zero means unbounded
	Before time.Time // zero means unbounded
	Limit  int       // total entries wanted; 0 means 20
}

// InstructionKind names a change instruction.
type InstructionKind string

// The instructions Flagbot sends. Environment-scoped kinds need
// Patch.Env; flag-wide kinds must not have it.
const (
	InstrTurnOn             InstructionKind = "turnFlagOn"                          // env
	InstrTurnOff            InstructionKind = "turnFlagOff"                         // env
	InstrUpdateFallthrough  InstructionKind = "updateFallthroughVariationOrRollout" // env
	InstrUpdateOffVariation InstructionKind = "updateOffVariation"                  // env
	InstrAddTargets         InstructionKind = "addTargets"                          // env
	InstrRemoveTargets      InstructionKind = "removeTargets"                       // env
	InstrArchive            InstructionKind = "archiveFlag"                         // flag
	InstrRestore            InstructionKind = "restoreFlag"                         // flag
)

// Instruction is one step of a flag change: Kind plus the fields that kind
// takes, all others zero. Variations are named by their ID, not their
// index; rollout weights are thousandths of a percent keyed by variation ID
// and sum to 100000. (The JSON form is how a stored change keeps it.)
type Instruction struct {
	Kind               InstructionKind `json:"kind"`
	VariationID        string          `json:"variationId,omitempty"`
	ContextKind        string          `json:"contextKind,omitempty"`
	Values             []string        `json:"values,omitempty"`
	RolloutWeights     map[string]int  `json:"rolloutWeights,omitempty"`
	RolloutContextKind string          `json:"rolloutContextKind,omitempty"`
	RolloutBucketBy    string          `json:"rolloutBucketBy,omitempty"`
}

// Patch is a flag change: instructions applied all together or not at all,
// in Env when they are environment-scoped. Comment lands in LaunchDarkly's
// audit log.
type Patch struct {
	Env          string        `json:"environmentKey,omitempty"`
	Comment      string        `json:"comment,omitempty"`
	Instructions []Instruction `json:"instructions"`
}

// NewFlag is a flag to create.
type NewFlag struct {
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Tags        []string    `json:"tags,omitempty"`
	Temporary   bool        `json:"temporary"`
	Variations  []Variation `json:"variations,omitempty"`
	Defaults    *Defaults   `json:"defaults,omitempty"`
}

// ApprovalRequestInput hands a change to LaunchDarkly's own approval flow.
type ApprovalRequestInput struct {
	Description  string
	Instructions []Instruction
	Comment      string
}

// ApprovalRequest is a LaunchDarkly approval request.
type ApprovalRequest struct {
	ID string
}
