package ldtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldtest"
)

const token = "api-11111111-2222-3333-4444-555555555555"

func intp(i int) *int { return &i }

func newServer(t *testing.T) *ldtest.Server {
	t.Helper()
	s := ldtest.NewServer(t)
	s.AddToken(token, ldtest.TokenInfo{ID: "tok-1", Name: "bot", Role: "reader"})
	s.AddProject(ld.Project{Key: "web", Name: "Web"},
		ldtest.EnvSpec{Key: "production", Name: "Production", APIKey: "sdk-prod-key", MobileKey: "mob-prod-key"},
		ldtest.EnvSpec{Key: "staging"})
	s.AddFlag("web", ld.Flag{Key: "new-checkout", Name: "New Checkout", Tags: []string{"beta", "checkout"},
		Environments: map[string]ld.FlagEnvironment{"production": {On: true, OffVariation: intp(1),
			Fallthrough: &ld.VariationOrRollout{Rollout: &ld.Rollout{Variations: []ld.WeightedVariation{{Variation: 0, Weight: 25000}, {Variation: 1, Weight: 75000}}}},
			Rules:       []ld.Rule{{Variation: intp(0)}}}}})
	s.AddFlag("web", ld.Flag{Key: "checkout-banner", Name: "Banner", Tags: []string{"beta"}})
	s.AddFlag("web", ld.Flag{Key: "dark-mode", Name: "Dark CHECKOUT mode", Deprecated: true})
	s.AddFlag("web", ld.Flag{Key: "gone", Name: "Gone", Archived: true, Tags: []string{"beta"}})
	return s
}

// get sends a GET with the given Authorization header and decodes the JSON
// answer into a generic map.
func get(t *testing.T, s *ldtest.Server, auth, path string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("LD-API-Version", "20240415")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("GET %s: body %q is not a JSON object: %v", path, raw, err)
		}
	}
	return resp.StatusCode, body
}

func itemKeys(t *testing.T, body map[string]any) string {
	t.Helper()
	items, ok := body["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", body)
	}
	var keys []string
	for _, it := range items {
		keys = append(keys, fmt.Sprint(it.(map[string]any)["key"]))
	}
	return strings.Join(keys, " ")
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tests := []struct {
		name, auth string
		want       int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"unknown", "api-nope", http.StatusUnauthorized},
		{"bearer prefix", "Bearer " + token, http.StatusUnauthorized},
		{"raw token", token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, s, tt.auth, "/api/v2/caller-identity")
			if status != tt.want {
				t.Fatalf("status = %d, want %d", status, tt.want)
			}
			if tt.want == http.StatusUnauthorized && (body["code"] != "unauthorized" || body["message"] != "Invalid access token" || body["id"] == "") {
				t.Errorf("401 body = %v", body)
			}
			if tt.want == http.StatusOK && body["tokenId"] != "tok-1" {
				t.Errorf("caller identity = %v", body)
			}
		})
	}
	reqs := s.Requests()
	if len(reqs) != len(tests) || reqs[2].Token != "Bearer "+token || reqs[3].APIVersion != "20240415" {
		t.Errorf("recorded requests = %+v", reqs)
	}
}

func TestEnvironmentsCarrySecretsOnTheWire(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	status, body := get(t, s, token, "/api/v2/projects/web/environments")
	if status != http.StatusOK || body["totalCount"] != float64(2) {
		t.Fatalf("status %d, body %v", status, body)
	}
	items := body["items"].([]any)
	prod := items[0].(map[string]any)
	if prod["apiKey"] != "sdk-prod-key" || prod["mobileKey"] != "mob-prod-key" || prod["_id"] == "" {
		t.Errorf("production = %v, want its secrets", prod)
	}
	staging := items[1].(map[string]any)
	if !strings.HasPrefix(fmt.Sprint(staging["apiKey"]), "sdk-") || !strings.HasPrefix(fmt.Sprint(staging["mobileKey"]), "mob-") {
		t.Errorf("staging = %v, want generated sdk-/mob- keys", staging)
	}
	if status, _ := get(t, s, token, "/api/v2/projects/nope/environments"); status != http.StatusNotFound {
		t.Errorf("unknown project: status %d, want 404", status)
	}
}

func TestFlagListFilters(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tests := []struct {
		query    string
		want     string
		wantCode int
	}{
		{"", "new-checkout checkout-banner dark-mode", 200},
		{"filter=query:checkout", "new-checkout checkout-banner dark-mode", 200},
		{"filter=query:banner", "checkout-banner", 200},
		{"filter=" + url.QueryEscape("tags:beta+checkout"), "new-checkout", 200},
		{"filter=tags:beta", "new-checkout checkout-banner", 200},
		{"filter=state:archived", "gone", 200},
		{"filter=state:deprecated", "dark-mode", 200},
		{"filter=" + url.QueryEscape("query:gone,state:archived"), "gone", 200},
		{"filter=query:gone", "", 200},
		{"filter=maintainerId:x", "", 400},
		{"filter=state:weird", "", 400},
		{"limit=0", "", 400},
		{"limit=101", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, body := get(t, s, token, "/api/v2/flags/web?"+tt.query)
			if status != tt.wantCode {
				t.Fatalf("status = %d, want %d (%v)", status, tt.wantCode, body)
			}
			if status != http.StatusOK {
				if body["code"] != "invalid_request" {
					t.Errorf("body = %v", body)
				}
				return
			}
			if got := itemKeys(t, body); got != tt.want {
				t.Errorf("keys = %q, want %q", got, tt.want)
			}
			for _, it := range body["items"].([]any) {
				if _, ok := it.(map[string]any)["environments"]; ok {
					t.Errorf("environments present without env=")
				}
			}
		})
	}
}

func TestFlagListPagingAndSummary(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	status, body := get(t, s, token, "/api/v2/flags/web?env=production&limit=2")
	if status != http.StatusOK || itemKeys(t, body) != "new-checkout checkout-banner" || body["totalCount"] != float64(3) {
		t.Fatalf("first page: %d %v", status, body)
	}
	links := body["_links"].(map[string]any)
	next := links["next"].(map[string]any)["href"].(string)
	if !strings.HasPrefix(next, "/api/v2/flags/web?") || !strings.Contains(next, "offset=2") || !strings.Contains(next, "env=production") {
		t.Errorf("next href = %q, want host-relative with env and offset=2", next)
	}
	status, body = get(t, s, token, next)
	if status != http.StatusOK || itemKeys(t, body) != "dark-mode" {
		t.Fatalf("second page: %d %v", status, body)
	}
	if _, ok := body["_links"].(map[string]any)["next"]; ok {
		t.Errorf("last page has a next link")
	}

	_, body = get(t, s, token, "/api/v2/flags/web?env=production&filter=query:new")
	flag := body["items"].([]any)[0].(map[string]any)
	envs := flag["environments"].(map[string]any)
	if len(envs) != 1 {
		t.Fatalf("environments = %v, want production only", envs)
	}
	prod := envs["production"].(map[string]any)
	for _, k := range []string{"on", "_summary", "_site", "version", "lastModified"} {
		if _, ok := prod[k]; !ok {
			t.Errorf("summary config lacks %q: %v", k, prod)
		}
	}
	for _, k := range []string{"rules", "fallthrough", "offVariation", "targets"} {
		if _, ok := prod[k]; ok {
			t.Errorf("summary config has %q: %v", k, prod)
		}
	}
	vars := prod["_summary"].(map[string]any)["variations"].(map[string]any)
	if v0 := vars["0"].(map[string]any); v0["rules"] != float64(1) || v0["rollout"] != float64(1) {
		t.Errorf("_summary variation 0 = %v", v0)
	}
	if v1 := vars["1"].(map[string]any); v1["isOff"] != true {
		t.Errorf("_summary variation 1 = %v", v1)
	}

	_, body = get(t, s, token, "/api/v2/flags/web?env=production&summary=0&filter=query:new")
	prod = body["items"].([]any)[0].(map[string]any)["environments"].(map[string]any)["production"].(map[string]any)
	if _, ok := prod["rules"]; !ok {
		t.Errorf("summary=0 config lacks rules: %v", prod)
	}
}

func TestGetFlagEnvs(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	_, body := get(t, s, token, "/api/v2/flags/web/new-checkout")
	if envs := body["environments"].(map[string]any); len(envs) != 2 {
		t.Errorf("environments = %v, want all", envs)
	}
	_, body = get(t, s, token, "/api/v2/flags/web/new-checkout?env=staging&env=nope")
	envs := body["environments"].(map[string]any)
	if _, ok := envs["staging"]; !ok || len(envs) != 1 {
		t.Errorf("environments = %v, want staging only (unknown keys ignored)", envs)
	}
	if body["_version"] != float64(1) || body["kind"] != "boolean" || body["_links"] == nil {
		t.Errorf("flag = %v", body)
	}
	if status, body := get(t, s, token, "/api/v2/flags/web/nope"); status != http.StatusNotFound || body["code"] != "not_found" {
		t.Errorf("unknown flag: %d %v", status, body)
	}
	if status, _ := get(t, s, token, "/api/v2/nothing/here"); status != http.StatusNotFound {
		t.Errorf("unknown route: status %d, want 404", status)
	}
}

func TestInjectedFailures(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.FailNext(1, http.StatusConflict, "optimistic_locking_error", "Conflict. Optimistic lock error. Try again later.")
	s.FailNext(1, http.StatusUnauthorized, "", "")
	s.RateLimitNext(1, 1500*time.Millisecond)

	status, body := get(t, s, token, "/api/v2/projects")
	if status != http.StatusConflict || body["code"] != "optimistic_locking_error" {
		t.Errorf("first: %d %v", status, body)
	}
	status, body = get(t, s, token, "/api/v2/projects")
	if status != http.StatusUnauthorized || body != nil {
		t.Errorf("second: %d %v, want an empty 401", status, body)
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/api/v2/projects", nil)
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("third: %d Retry-After %q, want 429 with 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if status, _ := get(t, s, token, "/api/v2/projects"); status != http.StatusOK {
		t.Errorf("fourth: %d, want 200 once injections are used up", status)
	}
}

func TestSearchContextsFilter(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, c := range []string{
		`{"kind":"user","key":"ana","email":"Ana@Example.com"}`,
		`{"kind":"user","key":"bo","name":"Bo"}`,
		`{"kind":"org","key":"acme","name":"Acme Inc"}`,
		`{"kind":"multi","user":{"key":"cy"},"device":{"key":"ios-1","os":"iOS"}}`,
	} {
		s.AddContext("web", "production", ld.ContextRecord{Context: json.RawMessage(c), LastSeen: "2026-01-01T00:00:00Z"})
	}
	c := s.Client(token)
	tests := []struct {
		filter  string
		want    int
		wantErr bool
	}{
		{filter: ``, want: 4},
		{filter: `q equals "example.com"`, want: 1},
		{filter: `q equals "acme"`, want: 1},
		{filter: `kind equals "user"`, want: 3},
		{filter: `kind anyOf ["org","device"]`, want: 2},
		{filter: `key startsWith "a", kind equals "user"`, want: 1},
		{filter: `key contains "o"`, want: 2},
		{filter: `user.email equals "x"`, wantErr: true},
		{filter: `key before "x"`, wantErr: true},
		{filter: `key equals x`, wantErr: true},
		{filter: `key equals "a" | key equals "b"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			recs, err := c.SearchContexts(t.Context(), "web", "production", ld.ContextSearch{Filter: tt.filter})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, want invalid_request")
				}
				return
			}
			if err != nil || len(recs) != tt.want {
				t.Errorf("got %d records, %v; want %d", len(recs), err, tt.want)
			}
		})
	}
}

func TestAuditLogFilters(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddAuditEntry(ld.AuditEntry{ID: "a", Date: 1000, Name: "New checkout", Accesses: []ld.Access{{Resource: "proj/web:env/production:flag/new-checkout"}}})
	s.AddAuditEntry(ld.AuditEntry{ID: "b", Date: 3000, Name: "Beta users", Accesses: []ld.Access{{Resource: "proj/web:env/staging:segment/beta"}}})
	s.AddAuditEntry(ld.AuditEntry{ID: "c", Date: 2000, Name: "Web", Accesses: []ld.Access{{Resource: "proj/web"}}})
	tests := []struct {
		query, want string
		wantCode    int
	}{
		{"", "b c a", 200},
		{"limit=2", "b c", 200},
		{"limit=21", "", 400},
		{"after=1000", "b c", 200},
		{"before=3000", "c a", 200},
		{"spec=" + url.QueryEscape("proj/web:env/*:flag/*"), "a", 200},
		{"spec=" + url.QueryEscape("proj/*"), "c", 200},
		{"spec=" + url.QueryEscape("proj/web:env/staging;critical:segment/b*"), "b", 200},
		{"q=beta", "b", 200},
		{"q=NEW-CHECKOUT", "a", 200},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, body := get(t, s, token, "/api/v2/auditlog?"+tt.query)
			if status != tt.wantCode {
				t.Fatalf("status %d, want %d", status, tt.wantCode)
			}
			if status != http.StatusOK {
				return
			}
			var ids []string
			for _, it := range body["items"].([]any) {
				ids = append(ids, it.(map[string]any)["_id"].(string))
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Errorf("ids = %q, want %q", got, tt.want)
			}
		})
	}
	_, body := get(t, s, token, "/api/v2/auditlog?limit=1&q=e")
	next := body["_links"].(map[string]any)["next"].(map[string]any)["href"].(string)
	if !strings.HasPrefix(next, "/api/v2/auditlog?") || !strings.Contains(next, "q=e") {
		t.Errorf("next = %q, want a host-relative link keeping q", next)
	}
}

func TestSegmentsAndContextsNotFound(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, p := range []string{
		"/api/v2/segments/web/nope",
		"/api/v2/segments/nope/production",
		"/api/v2/segments/web/production/nope",
		"/api/v2/projects/web/environments/production/contexts/user/nope",
		"/api/v2/projects/web/environments/nope",
		"/api/v2/tokens/nope",
	} {
		if status, body := get(t, s, token, p); status != http.StatusNotFound || body["code"] != "not_found" {
			t.Errorf("GET %s: %d %v, want 404 not_found", p, status, body)
		}
	}
}
