package ld_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
)

// The read commands consume *ld.Client through this interface.
var _ commands.LaunchDarkly = (*ld.Service)(nil)

func intp(i int) *int { return &i }

// seedWeb adds project web (production, staging) with a few flags.
func seedWeb(t *testing.T, s *ldtest.Server) {
	t.Helper()
	s.AddProject(ld.Project{Key: "web", Name: "Web"},
		ldtest.EnvSpec{Key: "production", Name: "Production", Critical: true, APIKey: "sdk-prod-SECRET", MobileKey: "mob-prod-SECRET"},
		ldtest.EnvSpec{Key: "staging", Name: "Staging"})
	s.AddFlag("web", ld.Flag{
		Key: "new-checkout", Name: "New checkout", Tags: []string{"checkout", "beta"}, Temporary: true,
		Environments: map[string]ld.FlagEnvironment{
			"production": {On: true, Version: 61, OffVariation: intp(1),
				Fallthrough: &ld.VariationOrRollout{Variation: intp(0)},
				Targets:     []ld.Target{{Values: []string{"ana", "bo"}, Variation: 0}}},
		},
	})
	s.AddFlag("web", ld.Flag{Key: "dark-mode", Name: "Dark Mode", Tags: []string{"ui"}})
	s.AddFlag("web", ld.Flag{Key: "old-banner", Name: "Old banner", Archived: true})
}

func TestCallerIdentityAndToken(t *testing.T) {
	t.Parallel()
	s := ldtest.NewServer(t)
	s.AddToken(testToken, ldtest.TokenInfo{ID: "tok-1", Name: "flagbot", Role: "writer", MemberID: "m-1"})
	s.AddToken("api-narrow", ldtest.TokenInfo{ID: "tok-2", Name: "narrow", ServiceToken: true, Forbidden: true})
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	ctx := t.Context()

	id, err := c.CallerIdentity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id.TokenID != "tok-1" || id.TokenName != "flagbot" || id.MemberID != "m-1" || id.ServiceToken {
		t.Errorf("CallerIdentity() = %+v", id)
	}
	tok, err := c.GetToken(ctx, id.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID != "tok-1" || tok.Role != "writer" || tok.Ending != "CRET" || tok.MemberID != "m-1" {
		t.Errorf("GetToken() = %+v", tok)
	}
	tok2, err := c.GetToken(ctx, "tok-2")
	if err != nil || tok2.Role != "" || len(tok2.CustomRoleIDs) == 0 || !tok2.ServiceToken {
		t.Errorf("GetToken(custom role) = %+v, %v; want no role, custom role ids", tok2, err)
	}

	narrow := c.WithToken("api-narrow")
	if _, err := narrow.GetToken(ctx, "tok-2"); !errors.Is(err, ld.ErrForbidden) {
		t.Errorf("GetToken() with a forbidden token = %v, want ErrForbidden", err)
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.Token != "api-narrow" || last.APIVersion != "20240415" {
		t.Errorf("last request token %q, version %q", last.Token, last.APIVersion)
	}
}

func TestListEnvironmentsHidesSecrets(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	seedWeb(t, s)
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	envs, err := c.ListEnvironments(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 2 || envs[0].Key != "production" || !envs[0].Critical || envs[1].Name != "Staging" {
		t.Errorf("ListEnvironments() = %+v", envs)
	}
	b, _ := json.Marshal(envs)
	for _, secret := range []string{"sdk-", "mob-", "apiKey", "mobileKey", "_id"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("decoded environments carry %q: %s", secret, b)
		}
	}
}

func TestListFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       ld.FlagListOptions
		wantKeys   string
		wantTotal  int
		wantQuery  url.Values
		wantOnProd bool
	}{
		{
			name:      "default",
			wantKeys:  "new-checkout dark-mode",
			wantTotal: 2,
			wantQuery: url.Values{"limit": {"20"}},
		},
		{
			name:       "env and query",
			opts:       ld.FlagListOptions{Env: "production", Query: "CHECKOUT"},
			wantKeys:   "new-checkout",
			wantTotal:  1,
			wantQuery:  url.Values{"env": {"production"}, "filter": {"query:CHECKOUT"}, "limit": {"20"}},
			wantOnProd: true,
		},
		{
			name:      "tag",
			opts:      ld.FlagListOptions{Tag: "ui"},
			wantKeys:  "dark-mode",
			wantTotal: 1,
			wantQuery: url.Values{"filter": {"tags:ui"}, "limit": {"20"}},
		},
		{
			name:      "archived",
			opts:      ld.FlagListOptions{Archived: true},
			wantKeys:  "old-banner",
			wantTotal: 1,
			wantQuery: url.Values{"filter": {"state:archived"}, "limit": {"20"}},
		},
		{
			name:      "one page",
			opts:      ld.FlagListOptions{Limit: 1, Offset: 1},
			wantKeys:  "dark-mode",
			wantTotal: 2,
			wantQuery: url.Values{"limit": {"1"}, "offset": {"1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := fakeLD(t)
			seedWeb(t, s)
			c, _, _ := newClient(t, s.URL(), ld.Options{})
			page, err := c.ListFlags(t.Context(), "web", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, f := range page.Items {
				keys = append(keys, f.Key)
			}
			if got := strings.Join(keys, " "); got != tt.wantKeys || page.TotalCount != tt.wantTotal {
				t.Errorf("ListFlags(%+v) = %q total %d, want %q total %d", tt.opts, got, page.TotalCount, tt.wantKeys, tt.wantTotal)
			}
			if got := s.Requests()[0].Query; got.Encode() != tt.wantQuery.Encode() {
				t.Errorf("query = %v, want %v", got, tt.wantQuery)
			}
			if tt.opts.Env == "" {
				for _, f := range page.Items {
					if f.Environments != nil {
						t.Errorf("flag %q has environments without env=", f.Key)
					}
				}
				return
			}
			fe, ok := page.Items[0].Environments[tt.opts.Env]
			if !ok || fe.On != tt.wantOnProd || fe.Version != 61 || fe.Summary == nil || len(fe.Targets) != 0 {
				t.Errorf("env config = %+v, want summary form with on=%v", fe, tt.wantOnProd)
			}
			if !fe.Summary.Variations["1"].IsOff || !fe.Summary.Variations["0"].IsFallthrough || fe.Summary.Variations["0"].Targets != 2 {
				t.Errorf("summary = %+v", fe.Summary)
			}
			if fe.Site.Href != "/web/production/features/new-checkout" {
				t.Errorf("_site = %q", fe.Site.Href)
			}
		})
	}
}

func TestGetFlag(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	seedWeb(t, s)
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	ctx := t.Context()

	all, err := c.GetFlag(ctx, "web", "new-checkout")
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Environments) != 2 || len(all.Variations) != 2 || all.Variations[0].ID == "" || all.Version != 1 {
		t.Errorf("GetFlag() = %+v, want both environments and variation ids", all)
	}
	prod := all.Environments["production"]
	if !prod.On || len(prod.Targets) != 1 || *prod.OffVariation != 1 || prod.EnvironmentName != "Production" {
		t.Errorf("production = %+v, want the full config", prod)
	}
	if st := all.Environments["staging"]; st.On || st.Fallthrough == nil {
		t.Errorf("staging = %+v, want a default off config", st)
	}

	one, err := c.GetFlag(ctx, "web", "new-checkout", "staging")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := one.Environments["staging"]; !ok || len(one.Environments) != 1 {
		t.Errorf("GetFlag(staging) environments = %v", one.Environments)
	}
	if got := s.Requests()[1].Query["env"]; len(got) != 1 || got[0] != "staging" {
		t.Errorf("env params = %q", got)
	}
}

func TestSegments(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	seedWeb(t, s)
	for i := range 55 {
		s.AddSegment("web", "production", ld.Segment{Key: fmt.Sprintf("seg-%02d", i), Included: []string{"ana"},
			Flags: []ld.FlagRef{{Key: "new-checkout"}}})
	}
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	segs, err := c.ListSegments(t.Context(), "web", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 55 || segs[54].Key != "seg-54" || len(segs[0].Flags) != 0 {
		t.Errorf("ListSegments() = %d segments, last %+v", len(segs), segs[len(segs)-1])
	}
	if n := len(s.Requests()); n != 2 {
		t.Errorf("requests = %d, want 2 pages", n)
	}
	seg, err := c.GetSegment(t.Context(), "web", "production", "seg-07")
	if err != nil {
		t.Fatal(err)
	}
	if seg.Key != "seg-07" || len(seg.Included) != 1 || len(seg.Flags) != 1 || seg.Version != 1 {
		t.Errorf("GetSegment() = %+v", seg)
	}
	none, err := c.ListSegments(t.Context(), "web", "staging")
	if err != nil || len(none) != 0 {
		t.Errorf("ListSegments(staging) = %v, %v; want none", none, err)
	}
}

func TestContexts(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	seedWeb(t, s)
	add := func(ctxJSON, lastSeen string) {
		s.AddContext("web", "production", ld.ContextRecord{Context: json.RawMessage(ctxJSON), LastSeen: lastSeen})
	}
	add(`{"kind":"user","key":"ana","name":"Ana Lima","email":"ana@example.com"}`, "2026-01-02T10:00:00Z")
	add(`{"kind":"user","key":"ana","name":"Ana L."}`, "2026-01-03T10:00:00Z")
	add(`{"kind":"org","key":"acme","name":"Acme"}`, "2026-01-01T10:00:00Z")
	add(`{"kind":"multi","user":{"key":"bo","name":"Bo"},"org":{"key":"acme"}}`, "2026-01-04T10:00:00Z")
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	ctx := t.Context()

	recs, err := c.SearchContexts(ctx, "web", "production", ld.ContextSearch{Filter: `q equals "ana@example"`})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].LastSeen != "2026-01-02T10:00:00Z" {
		t.Errorf("SearchContexts(q) = %+v", recs)
	}
	recs, err = c.SearchContexts(ctx, "web", "production", ld.ContextSearch{Filter: `kind anyOf ["org"]`, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || !strings.Contains(string(recs[0].Context), `"multi"`) {
		t.Errorf("SearchContexts(kind org, limit 1) = %s, want the newest, the multi-context", recs)
	}

	got, err := c.GetContexts(ctx, "web", "production", "user", "ana")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].LastSeen != "2026-01-03T10:00:00Z" {
		t.Errorf("GetContexts(user ana) = %+v, want 2, newest first", got)
	}
	if _, err := c.SearchContexts(ctx, "web", "production", ld.ContextSearch{Filter: `nonsense`}); !errors.Is(err, ld.ErrBadRequest) {
		t.Errorf("SearchContexts(bad filter) error = %v, want ErrBadRequest", err)
	}
}

func TestListAuditLog(t *testing.T) {
	t.Parallel()
	s := fakeLD(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 30 {
		flag := "new-checkout"
		if i%2 == 1 {
			flag = "dark-mode"
		}
		s.AddAuditEntry(ld.AuditEntry{
			ID:       fmt.Sprintf("e%02d", i),
			Date:     base.Add(time.Duration(i) * time.Minute).UnixMilli(),
			Kind:     "flag",
			Name:     flag,
			Accesses: []ld.Access{{Action: "updateOn", Resource: "proj/web:env/production:flag/" + flag}},
		})
	}
	c, _, _ := newClient(t, s.URL(), ld.Options{})
	ctx := t.Context()

	got, err := c.ListAuditLog(ctx, ld.AuditLogOptions{Limit: 25})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 25 || got[0].ID != "e29" || got[24].ID != "e05" {
		t.Fatalf("ListAuditLog(25) = %d entries, first %q; want 25 newest first", len(got), got[0].ID)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Query.Get("limit") != "20" || reqs[1].Query.Get("limit") != "5" {
		t.Errorf("pages asked %d, limits %q then %q; want 20 then 5", len(reqs), reqs[0].Query.Get("limit"), reqs[len(reqs)-1].Query.Get("limit"))
	}

	got, err = c.ListAuditLog(ctx, ld.AuditLogOptions{
		Spec:   "proj/web:env/*:flag/dark-*",
		After:  base.Add(10 * time.Minute),
		Before: base.Add(20 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "e19,e17,e15,e13,e11" {
		t.Errorf("ListAuditLog(spec, after, before) = %v", ids)
	}
	q := s.Requests()[2].Query
	if q.Get("spec") != "proj/web:env/*:flag/dark-*" || q.Get("after") != fmt.Sprint(base.Add(10*time.Minute).UnixMilli()) {
		t.Errorf("query = %v", q)
	}

	got, err = c.ListAuditLog(ctx, ld.AuditLogOptions{Q: "CHECKOUT", Limit: 3})
	if err != nil || len(got) != 3 || got[0].Name != "new-checkout" {
		t.Errorf("ListAuditLog(q) = %+v, %v", got, err)
	}
}
