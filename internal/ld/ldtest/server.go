package ldtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/secret"
)

// TokenInfo describes an access token the fake accepts.
type TokenInfo struct {
	ID           string // token id, as caller-identity's tokenId; generated when empty
	Name         string
	Role         string // reader, writer, admin, or "" for a custom role
	MemberID     string
	ServiceToken bool
	// Forbidden makes GET /api/v2/tokens/{id} answer 403 for requests made
	// with this token, as it does for narrow custom roles.
	Forbidden bool
}

// EnvSpec describes an environment added with AddProject. Empty secrets are
// generated in LaunchDarkly's formats (sdk-..., mob-...).
type EnvSpec struct {
	Key       string
	Name      string // defaults to Key
	Critical  bool
	APIKey    string // the SDK key
	MobileKey string
	// RequireApproval makes flag semantic patches scoped to this
	// environment answer 405 method_not_allowed, as LaunchDarkly does when
	// the environment requires approvals and the token cannot bypass them.
	RequireApproval bool
}

// Request is one request the fake received.
type Request struct {
	Method     string
	Path       string // unescaped path
	Query      url.Values
	Token      string // the Authorization header, verbatim
	APIVersion string // the LD-API-Version header
	Body       []byte // the request body, if any
}

// Server is a fake LaunchDarkly REST API. Its methods are safe for
// concurrent use.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	seq       int
	tokens    map[string]TokenInfo // by raw token
	projects  []*project
	audit     []ld.AuditEntry
	injected  []injection
	requests  []Request
	approvals []ApprovalRequest // LaunchDarkly approval requests created, oldest first
	startedAt time.Time
}

type project struct {
	p     ld.Project
	id    string
	envs  []*environment
	flags []ld.Flag // insertion order
}

type environment struct {
	spec     EnvSpec
	id       string // the client-side ID
	segments []ld.Segment
	contexts []ld.ContextRecord
}

type injection struct {
	method     string // only requests with this method; "" for any
	n          int
	status     int
	code, msg  string
	retryAfter time.Duration
}

// NewServer starts a fake LaunchDarkly server; it is closed through
// t.Cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, tokens: make(map[string]TokenInfo), startedAt: time.Now()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/caller-identity", s.callerIdentity)
	mux.HandleFunc("GET /api/v2/tokens/{id}", s.getToken)
	mux.HandleFunc("GET /api/v2/projects", s.listProjects)
	mux.HandleFunc("GET /api/v2/projects/{proj}", s.getProject)
	mux.HandleFunc("GET /api/v2/projects/{proj}/environments", s.listEnvironments)
	mux.HandleFunc("GET /api/v2/projects/{proj}/environments/{env}", s.getEnvironment)
	mux.HandleFunc("GET /api/v2/flags/{proj}", s.listFlags)
	mux.HandleFunc("GET /api/v2/flags/{proj}/{key}", s.getFlag)
	mux.HandleFunc("POST /api/v2/flags/{proj}", s.createFlag)
	mux.HandleFunc("PATCH /api/v2/flags/{proj}/{key}", s.patchFlag)
	mux.HandleFunc("DELETE /api/v2/flags/{proj}/{key}", s.deleteFlag)
	mux.HandleFunc("GET /api/v2/segments/{proj}/{env}", s.listSegments)
	mux.HandleFunc("GET /api/v2/segments/{proj}/{env}/{key}", s.getSegment)
	mux.HandleFunc("POST /api/v2/projects/{proj}/environments/{env}/contexts/search", s.searchContexts)
	mux.HandleFunc("GET /api/v2/projects/{proj}/environments/{env}/contexts/{kind}/{key}", s.getContexts)
	mux.HandleFunc("GET /api/v2/auditlog", s.listAuditLog)
	mux.HandleFunc("POST /api/v2/projects/{proj}/flags/{key}/environments/{env}/approval-requests", s.createApprovalRequest)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusNotFound, "not_found",
			fmt.Sprintf("fake LaunchDarkly has no route for %s %s", r.Method, r.URL.Path))
	})
	s.srv = httptest.NewServer(s.middleware(mux))
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an ld.Client for the server that authenticates with token,
// never really sleeps between retries and logs nowhere.
func (s *Server) Client(token string) *ld.Client {
	s.t.Helper()
	c, err := ld.NewClient(s.URL(), ld.Options{
		HTTPClient: s.srv.Client(),
		Sleep:      func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		s.t.Fatalf("ldtest: new client: %v", err)
	}
	return c.WithToken(secret.Secret(token))
}

// AddToken makes the server accept token, described by info.
func (s *Server) AddToken(token string, info TokenInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if info.ID == "" {
		info.ID = s.newID()
	}
	s.tokens[token] = info
}

// AddProject adds a project with the given environments, in order.
func (s *Server) AddProject(p ld.Project, envs ...EnvSpec) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findProject(p.Key) != nil {
		s.t.Fatalf("ldtest: project %q added twice", p.Key)
	}
	if p.Name == "" {
		p.Name = p.Key
	}
	pr := &project{p: p, id: s.newID()}
	for _, e := range envs {
		if e.Name == "" {
			e.Name = e.Key
		}
		if e.APIKey == "" {
			e.APIKey = "sdk-" + s.newUUID()
		}
		if e.MobileKey == "" {
			e.MobileKey = "mob-" + s.newUUID()
		}
		pr.envs = append(pr.envs, &environment{spec: e, id: s.newID()})
	}
	s.projects = append(s.projects, pr)
}

// AddFlag adds f to project. Variations without an _id get one; every
// environment of the project without a configuration in f.Environments gets
// a default one (off, serving the defaults' variations); missing _site,
// _environmentName, version and lastModified are filled in.
func (s *Server) AddFlag(project string, f ld.Flag) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.findProject(project)
	if pr == nil {
		s.t.Fatalf("ldtest: AddFlag: unknown project %q", project)
	}
	if _, err := s.addFlagLocked(pr, f); err != nil {
		s.t.Fatalf("ldtest: AddFlag: %v", err)
	}
}

// addFlagLocked stores f in pr after filling in defaults (see AddFlag) and
// returns the stored flag. Callers hold s.mu.
func (s *Server) addFlagLocked(pr *project, f ld.Flag) (ld.Flag, error) {
	project := pr.p.Key
	f = cloneFlag(f) // share nothing with the caller
	if slices.ContainsFunc(pr.flags, func(g ld.Flag) bool { return g.Key == f.Key }) {
		return ld.Flag{}, fmt.Errorf("flag %q already exists in %q", f.Key, project)
	}
	if f.Name == "" {
		f.Name = f.Key
	}
	if f.Version == 0 {
		f.Version = 1
	}
	if f.CreationDate == 0 {
		f.CreationDate = s.startedAt.UnixMilli()
	}
	if len(f.Variations) == 0 {
		f.Kind = "boolean"
		f.Variations = []ld.Variation{{Value: json.RawMessage("true")}, {Value: json.RawMessage("false")}}
	}
	if f.Kind == "" {
		f.Kind = "multivariate"
	}
	f.Variations = slices.Clone(f.Variations)
	for i := range f.Variations {
		if f.Variations[i].ID == "" {
			f.Variations[i].ID = s.newUUID()
		}
	}
	if f.Defaults == nil {
		f.Defaults = &ld.Defaults{OnVariation: 0, OffVariation: len(f.Variations) - 1}
	}
	envs := make(map[string]ld.FlagEnvironment, len(pr.envs))
	for key, fe := range f.Environments {
		if pr.findEnv(key) == nil {
			return ld.Flag{}, fmt.Errorf("flag %q: project %q has no environment %q", f.Key, project, key)
		}
		envs[key] = fe
	}
	for _, e := range pr.envs {
		fe, ok := envs[e.spec.Key]
		if !ok {
			off, on := f.Defaults.OffVariation, f.Defaults.OnVariation
			fe = ld.FlagEnvironment{OffVariation: &off, Fallthrough: &ld.VariationOrRollout{Variation: &on}}
		}
		if fe.Version == 0 {
			fe.Version = 1
		}
		if fe.LastModified == 0 {
			fe.LastModified = s.startedAt.UnixMilli()
		}
		if fe.Site.Href == "" {
			fe.Site = ld.Link{Href: "/" + project + "/" + e.spec.Key + "/features/" + f.Key, Type: "text/html"}
		}
		if fe.EnvironmentName == "" {
			fe.EnvironmentName = e.spec.Name
		}
		envs[e.spec.Key] = fe
	}
	f.Environments = envs
	pr.flags = append(pr.flags, f)
	return cloneFlag(f), nil
}

// Flag returns a copy of the stored flag key of project, with every
// environment's full configuration, and whether it exists.
func (s *Server) Flag(project, key string) (ld.Flag, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findProject(project)
	if p == nil {
		return ld.Flag{}, false
	}
	i := s.flagIndex(p, key)
	if i < 0 {
		return ld.Flag{}, false
	}
	return cloneFlag(p.flags[i]), true
}

// AddSegment adds seg to project's env.
func (s *Server) AddSegment(project, env string, seg ld.Segment) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.mustEnv(project, env)
	if seg.Name == "" {
		seg.Name = seg.Key
	}
	if seg.Version == 0 {
		seg.Version = 1
	}
	e.segments = append(e.segments, seg)
}

// AddContext adds a context record to project's env. rec.Context must be a
// JSON object with at least "kind" and "key" (or a multi-context).
func (s *Server) AddContext(project, env string, rec ld.ContextRecord) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.mustEnv(project, env)
	if len(contextParts(rec.Context)) == 0 {
		s.t.Fatalf("ldtest: AddContext: context %s has no kind and key", rec.Context)
	}
	e.contexts = append(e.contexts, rec)
}

// AddAuditEntry adds an audit-log entry. A missing _id is generated; a zero
// date becomes the current time.
func (s *Server) AddAuditEntry(e ld.AuditEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.ID == "" {
		e.ID = s.newID()
	}
	if e.Date == 0 {
		e.Date = time.Now().UnixMilli()
	}
	s.audit = append(s.audit, e)
}

// FailNext makes the next n requests, whatever their path, answer status
// with the body {"code": code, "message": msg, "id": ...}; when code and msg
// are both empty the body is empty, like some real 401s.
func (s *Server) FailNext(n int, status int, code, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injected = append(s.injected, injection{n: n, status: status, code: code, msg: msg})
}

// FailNextMethod is FailNext for requests with method only (e.g. PATCH, to
// fail a write while the reads before it succeed).
func (s *Server) FailNextMethod(method string, n int, status int, code, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injected = append(s.injected, injection{method: method, n: n, status: status, code: code, msg: msg})
}

// RateLimitNext makes the next n requests answer 429 rate_limited with a
// Retry-After header of retryAfter (whole seconds, rounded up).
func (s *Server) RateLimitNext(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injected = append(s.injected, injection{
		n: n, status: http.StatusTooManyRequests, code: "rate_limited",
		msg: "You've exceeded the API rate limit. Try again later.", retryAfter: retryAfter,
	})
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// newID returns a LaunchDarkly-style 24-hex-digit id. Callers hold s.mu.
func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("%024x", 0x5f0000000000+s.seq)
}

// newUUID returns a deterministic UUID-shaped string. Callers hold s.mu.
func (s *Server) newUUID() string {
	s.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", s.seq, s.seq)
}

func (s *Server) findProject(key string) *project {
	for _, p := range s.projects {
		if p.p.Key == key {
			return p
		}
	}
	return nil
}

func (p *project) findEnv(key string) *environment {
	for _, e := range p.envs {
		if e.spec.Key == key {
			return e
		}
	}
	return nil
}

func (s *Server) mustEnv(project, env string) *environment {
	s.t.Helper()
	p := s.findProject(project)
	if p == nil {
		s.t.Fatalf("ldtest: unknown project %q", project)
	}
	e := p.findEnv(env)
	if e == nil {
		s.t.Fatalf("ldtest: project %q has no environment %q", project, env)
	}
	return e
}
