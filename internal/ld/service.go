package ld

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// Service is a Client seen in the core's terms: it implements
// commands.LaunchDarkly, mapping LaunchDarkly's wire types onto the core's
// domain types and its errors onto *commands.RemoteError, so the core never
// sees a JSON field name or an HTTP status sentinel of this package.
type Service struct{ c *Client }

// NewService returns the core's view of c.
func NewService(c *Client) *Service { return &Service{c: c} }

var _ commands.LaunchDarkly = (*Service)(nil)

// CallerIdentity implements commands.TokenChecker.
func (s *Service) CallerIdentity(ctx context.Context) (commands.CallerIdentity, error) {
	id, err := s.c.CallerIdentity(ctx)
	if err != nil {
		return commands.CallerIdentity{}, coreError(err)
	}
	return commands.CallerIdentity{TokenID: id.TokenID, TokenName: id.TokenName}, nil
}

// GetToken implements commands.TokenChecker.
func (s *Service) GetToken(ctx context.Context, id string) (commands.Token, error) {
	t, err := s.c.GetToken(ctx, id)
	if err != nil {
		return commands.Token{}, coreError(err)
	}
	return commands.Token{ID: t.ID, Name: t.Name, Role: t.Role, CustomRoleIDs: t.CustomRoleIDs}, nil
}

// ListProjects implements commands.ProjectReader.
func (s *Service) ListProjects(ctx context.Context) ([]commands.Project, error) {
	ps, err := s.c.ListProjects(ctx)
	if err != nil {
		return nil, coreError(err)
	}
	out := make([]commands.Project, len(ps))
	for i, p := range ps {
		out[i] = commands.Project{Key: p.Key, Name: p.Name, Tags: p.Tags}
	}
	return out, nil
}

// ListEnvironments implements commands.ProjectReader.
func (s *Service) ListEnvironments(ctx context.Context, project string) ([]commands.Environment, error) {
	es, err := s.c.ListEnvironments(ctx, project)
	if err != nil {
		return nil, coreError(err)
	}
	out := make([]commands.Environment, len(es))
	for i, e := range es {
		out[i] = commands.Environment{
			Key: e.Key, Name: e.Name, Color: e.Color, Critical: e.Critical,
			ApprovalRequired: e.ApprovalSettings != nil && e.ApprovalSettings.Required,
		}
	}
	return out, nil
}

// ListFlags implements commands.FlagReader.
func (s *Service) ListFlags(ctx context.Context, project string, q commands.FlagQuery) (commands.FlagPage, error) {
	p, err := s.c.ListFlags(ctx, project, FlagListOptions{
		Env: q.Env, Query: q.Query, Tag: q.Tag, Archived: q.Archived, Limit: q.Limit, Offset: q.Offset,
	})
	if err != nil {
		return commands.FlagPage{}, coreError(err)
	}
	out := commands.FlagPage{Items: make([]commands.Flag, len(p.Items)), TotalCount: p.TotalCount}
	for i, f := range p.Items {
		out.Items[i] = DomainFlag(f)
	}
	return out, nil
}

// GetFlag implements commands.FlagReader.
func (s *Service) GetFlag(ctx context.Context, project, key string, envs ...string) (commands.Flag, error) {
	f, err := s.c.GetFlag(ctx, project, key, envs...)
	if err != nil {
		return commands.Flag{}, coreError(err)
	}
	return DomainFlag(f), nil
}

// PatchFlag implements commands.FlagWriter.
func (s *Service) PatchFlag(ctx context.Context, project, key string, p commands.Patch) (commands.Flag, error) {
	f, err := s.c.PatchFlag(ctx, project, key, SemanticPatch{EnvironmentKey: p.Env, Comment: p.Comment, Instructions: wireInstructions(p.Instructions)})
	if err != nil {
		return commands.Flag{}, coreError(err)
	}
	return DomainFlag(f), nil
}

// CreateFlag implements commands.FlagWriter.
func (s *Service) CreateFlag(ctx context.Context, project string, nf commands.NewFlag) (commands.Flag, error) {
	in := NewFlag{Key: nf.Key, Name: nf.Name, Description: nf.Description, Tags: nf.Tags, Temporary: nf.Temporary}
	for _, v := range nf.Variations {
		in.Variations = append(in.Variations, Variation{ID: v.ID, Value: v.Value, Name: v.Name, Description: v.Description})
	}
	if nf.Defaults != nil {
		in.Defaults = &Defaults{OnVariation: nf.Defaults.OnVariation, OffVariation: nf.Defaults.OffVariation}
	}
	f, err := s.c.CreateFlag(ctx, project, in)
	if err != nil {
		return commands.Flag{}, coreError(err)
	}
	return DomainFlag(f), nil
}

// DeleteFlag implements commands.FlagWriter.
func (s *Service) DeleteFlag(ctx context.Context, project, key string) error {
	return coreError(s.c.DeleteFlag(ctx, project, key))
}

// CreateApprovalRequest implements commands.FlagWriter.
func (s *Service) CreateApprovalRequest(ctx context.Context, project, key, env string, in commands.ApprovalRequestInput) (commands.ApprovalRequest, error) {
	ar, err := s.c.CreateApprovalRequest(ctx, project, key, env, ApprovalRequestInput{
		Description: in.Description, Instructions: wireInstructions(in.Instructions), Comment: in.Comment,
	})
	if err != nil {
		return commands.ApprovalRequest{}, coreError(err)
	}
	return commands.ApprovalRequest{ID: ar.ID}, nil
}

// ListSegments implements commands.SegmentReader.
func (s *Service) ListSegments(ctx context.Context, project, env string) ([]commands.SegmentRecord, error) {
	segs, err := s.c.ListSegments(ctx, project, env)
	if err != nil {
		return nil, coreError(err)
	}
	out := make([]commands.SegmentRecord, len(segs))
	for i, sg := range segs {
		out[i] = domainSegment(sg)
	}
	return out, nil
}

// GetSegment implements commands.SegmentReader.
func (s *Service) GetSegment(ctx context.Context, project, env, key string) (commands.SegmentRecord, error) {
	sg, err := s.c.GetSegment(ctx, project, env, key)
	if err != nil {
		return commands.SegmentRecord{}, coreError(err)
	}
	return domainSegment(sg), nil
}

// SearchContexts implements commands.ContextReader.
func (s *Service) SearchContexts(ctx context.Context, project, env string, q commands.ContextQuery) ([]commands.ContextRecord, error) {
	recs, err := s.c.SearchContexts(ctx, project, env, ContextSearch{Filter: q.Filter, Limit: q.Limit})
	if err != nil {
		return nil, coreError(err)
	}
	return domainContexts(recs), nil
}

// GetContexts implements commands.ContextReader.
func (s *Service) GetContexts(ctx context.Context, project, env, kind, key string) ([]commands.ContextRecord, error) {
	recs, err := s.c.GetContexts(ctx, project, env, kind, key)
	if err != nil {
		return nil, coreError(err)
	}
	return domainContexts(recs), nil
}

// ListAuditLog implements commands.AuditLog.
func (s *Service) ListAuditLog(ctx context.Context, q commands.AuditQuery) ([]commands.AuditEntry, error) {
	es, err := s.c.ListAuditLog(ctx, AuditLogOptions{Spec: q.Spec, After: q.After, Before: q.Before, Limit: q.Limit})
	if err != nil {
		return nil, coreError(err)
	}
	out := make([]commands.AuditEntry, len(es))
	for i, e := range es {
		out[i] = DomainAuditEntry(e)
	}
	return out, nil
}

// coreError maps a failure of this package onto the core's terms: an
// *APIError or *RateLimitError becomes a *commands.RemoteError with its
// kind, status and LaunchDarkly's message, wrapping the original; a network
// failure a RemoteError of KindUnavailable. A context's own deadline or
// cancellation is returned as it is, so the core can tell a timeout.
func coreError(err error) error {
	if err == nil {
		return nil
	}
	var api *APIError
	switch {
	case errors.As(err, &api):
		return &commands.RemoteError{Kind: kindOf(api), Status: api.Status, Message: api.Message, Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, ErrUnavailable):
		return &commands.RemoteError{Kind: commands.KindUnavailable, Err: err}
	}
	return err
}

// kindOf maps an HTTP status onto the core's kinds.
func kindOf(e *APIError) commands.Kind {
	switch {
	case e.Status == http.StatusBadRequest, e.Status == http.StatusUnprocessableEntity:
		return commands.KindInvalid
	case e.Status == http.StatusUnauthorized:
		return commands.KindUnauthorized
	case e.Status == http.StatusForbidden, e.Status == http.StatusMethodNotAllowed:
		return commands.KindForbidden
	case e.Status == http.StatusNotFound:
		return commands.KindNotFound
	case e.Status == http.StatusConflict:
		return commands.KindConflict
	case e.Status == http.StatusTooManyRequests:
		return commands.KindRateLimited
	case e.Status >= 500:
		return commands.KindUnavailable
	}
	return commands.KindInternal
}

func wireInstructions(in []commands.Instruction) []Instruction {
	out := make([]Instruction, len(in))
	for i, x := range in {
		out[i] = Instruction{
			Kind: string(x.Kind), VariationID: x.VariationID, ContextKind: x.ContextKind, Values: x.Values,
			RolloutWeights: x.RolloutWeights, RolloutContextKind: x.RolloutContextKind, RolloutBucketBy: x.RolloutBucketBy,
		}
	}
	return out
}

// millis turns LaunchDarkly's epoch milliseconds into a time; 0 is the
// zero time.
func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func domainMember(m *Member) *commands.Member {
	if m == nil {
		return nil
	}
	return &commands.Member{ID: m.ID, Email: m.Email, FirstName: m.FirstName, LastName: m.LastName}
}

func domainRollout(r *Rollout) *commands.PercentRollout {
	if r == nil {
		return nil
	}
	out := &commands.PercentRollout{BucketBy: r.BucketBy, ContextKind: r.ContextKind}
	for _, v := range r.Variations {
		out.Variations = append(out.Variations, commands.WeightedVariation{Variation: v.Variation, Weight: v.Weight})
	}
	return out
}

func domainTargets(ts []Target) []commands.TargetList {
	if ts == nil {
		return nil
	}
	out := make([]commands.TargetList, len(ts))
	for i, t := range ts {
		out[i] = commands.TargetList{Values: t.Values, Variation: t.Variation, ContextKind: t.ContextKind}
	}
	return out
}

// DomainFlag maps a wire flag onto the core's Flag.
func DomainFlag(f Flag) commands.Flag {
	out := commands.Flag{
		Key: f.Key, Name: f.Name, Description: f.Description, Kind: f.Kind, Version: f.Version,
		Archived: f.Archived, Deprecated: f.Deprecated, Temporary: f.Temporary, Tags: f.Tags,
		CreationDate: millis(f.CreationDate), Maintainer: domainMember(f.Maintainer),
	}
	if f.Variations != nil {
		out.Variations = make([]commands.Variation, len(f.Variations))
		for i, v := range f.Variations {
			out.Variations[i] = commands.Variation{ID: v.ID, Value: v.Value, Name: v.Name, Description: v.Description}
		}
	}
	if f.Defaults != nil {
		out.Defaults = &commands.Defaults{OnVariation: f.Defaults.OnVariation, OffVariation: f.Defaults.OffVariation}
	}
	if f.Environments != nil {
		out.Environments = make(map[string]commands.FlagEnvironment, len(f.Environments))
		for k, e := range f.Environments {
			out.Environments[k] = domainFlagEnv(e)
		}
	}
	return out
}

func domainFlagEnv(e FlagEnvironment) commands.FlagEnvironment {
	out := commands.FlagEnvironment{
		On: e.On, Archived: e.Archived, Version: e.Version, LastModified: millis(e.LastModified),
		SitePath: e.Site.Href, EnvironmentName: e.EnvironmentName, OffVariation: e.OffVariation,
		Targets: domainTargets(e.Targets), ContextTargets: domainTargets(e.ContextTargets),
	}
	if e.Fallthrough != nil {
		out.Fallthrough = &commands.VariationOrRollout{Variation: e.Fallthrough.Variation, Rollout: domainRollout(e.Fallthrough.Rollout)}
	}
	for _, r := range e.Rules {
		out.Rules = append(out.Rules, commands.Rule{ID: r.ID, Variation: r.Variation, Rollout: domainRollout(r.Rollout), Description: r.Description, Clauses: r.Clauses})
	}
	for _, p := range e.Prerequisites {
		out.Prerequisites = append(out.Prerequisites, commands.Prerequisite{Key: p.Key, Variation: p.Variation})
	}
	if e.Summary != nil {
		sum := &commands.FlagSummary{Prerequisites: e.Summary.Prerequisites}
		if e.Summary.Variations != nil {
			sum.Variations = make(map[string]commands.VariationSummary, len(e.Summary.Variations))
			for k, v := range e.Summary.Variations {
				sum.Variations[k] = commands.VariationSummary(v)
			}
		}
		out.Summary = sum
	}
	return out
}

func domainSegment(s Segment) commands.SegmentRecord {
	out := commands.SegmentRecord{
		Key: s.Key, Name: s.Name, Description: s.Description, Tags: s.Tags, Version: s.Version,
		CreationDate: millis(s.CreationDate), LastModified: millis(s.LastModifiedDate),
		Included: s.Included, Excluded: s.Excluded, Rules: s.Rules, Unbounded: s.Unbounded,
	}
	for _, t := range s.IncludedContexts {
		out.IncludedContexts = append(out.IncludedContexts, commands.SegmentTarget{ContextKind: t.ContextKind, Values: t.Values})
	}
	for _, t := range s.ExcludedContexts {
		out.ExcludedContexts = append(out.ExcludedContexts, commands.SegmentTarget{ContextKind: t.ContextKind, Values: t.Values})
	}
	for _, f := range s.Flags {
		out.Flags = append(out.Flags, commands.FlagRef{Key: f.Key, Name: f.Name})
	}
	return out
}

func domainContexts(recs []ContextRecord) []commands.ContextRecord {
	out := make([]commands.ContextRecord, len(recs))
	for i, r := range recs {
		out[i] = commands.ContextRecord{Context: r.Context, LastSeen: r.LastSeen, ApplicationID: r.ApplicationID}
	}
	return out
}

// DomainAuditEntry maps a wire audit-log entry onto the core's AuditEntry.
func DomainAuditEntry(e AuditEntry) commands.AuditEntry {
	out := commands.AuditEntry{
		ID: e.ID, Date: millis(e.Date), Kind: e.Kind, Name: e.Name, Description: e.Description,
		ShortDescription: e.ShortDescription, Title: e.Title, TitleVerb: e.TitleVerb, Comment: e.Comment,
		Member: domainMember(e.Member),
	}
	for _, a := range e.Accesses {
		out.Accesses = append(out.Accesses, commands.Access{Action: a.Action, Resource: a.Resource})
	}
	if e.Token != nil {
		out.Token = &commands.TokenSummary{ID: e.Token.ID, Name: e.Token.Name, Ending: e.Token.Ending, ServiceToken: e.Token.ServiceToken}
	}
	if e.Target != nil {
		out.TargetName, out.TargetResources = e.Target.Name, e.Target.Resources
	}
	return out
}
