package ldfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
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

// Server is a fake LaunchDarkly REST API: an in-memory store and the
// http.Handler that serves it. Its methods are safe for concurrent use.
type Server struct {
	handler http.Handler

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced after every stored change
	seq         int
	tokens      map[string]TokenInfo // by raw token
	projects    []*project
	audit       []ld.AuditEntry
	injected    []injection
	requests    []Request
	maxRequests int               // LimitRequests; 0 keeps every request
	approvals   []ApprovalRequest // LaunchDarkly approval requests created, oldest first
	startedAt   time.Time
	delay       time.Duration // SetDelay

	// flagCache holds encoded GET flag answers while flagCacheGen is
	// still changed (see getFlag).
	flagCache    map[flagCacheKey][]byte
	flagCacheGen chan struct{}
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

// New returns a fake LaunchDarkly with an empty store. Serve Handler on a
// loopback listener (ldtest does it with httptest; the playground with an
// http.Server of its own).
func New() *Server {
	s := &Server{tokens: make(map[string]TokenInfo), startedAt: time.Now(), changed: make(chan struct{})}
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
	s.handler = s.middleware(mux)
	return s
}

// Handler serves the fake's REST API under /api/v2/.
func (s *Server) Handler() http.Handler { return s.handler }

// Changed returns a channel that is closed at the next change of the stored
// flags or audit log (through the API or the Add methods). Call it again
// after each wake-up for the change after that.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// notifyLocked wakes Changed's waiters. Callers hold s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
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

// AddProject adds a project with the given environments, in order. It
// fails if a project with that key exists.
func (s *Server) AddProject(p ld.Project, envs ...EnvSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findProject(p.Key) != nil {
		return fmt.Errorf("ldfake: project %q added twice", p.Key)
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
	s.notifyLocked()
	return nil
}

// AddFlag adds f to project. Variations without an _id get one; every
// environment of the project without a configuration in f.Environments gets
// a default one (off, serving the defaults' variations); missing _site,
// _environmentName, version and lastModified are filled in. It fails for an
// unknown project or environment and for a key the project already has.
func (s *Server) AddFlag(project string, f ld.Flag) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.findProject(project)
	if pr == nil {
		return fmt.Errorf("ldfake: AddFlag: unknown project %q", project)
	}
	if _, err := s.addFlagLocked(pr, f); err != nil {
		return fmt.Errorf("ldfake: AddFlag: %w", err)
	}
	return nil
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
	s.notifyLocked()
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

// AddSegment adds seg to project's env, which must exist.
func (s *Server) AddSegment(project, env string, seg ld.Segment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.envOf(project, env)
	if err != nil {
		return err
	}
	if seg.Name == "" {
		seg.Name = seg.Key
	}
	if seg.Version == 0 {
		seg.Version = 1
	}
	e.segments = append(e.segments, seg)
	return nil
}

// AddContext adds a context record to project's env. rec.Context must be a
// JSON object with at least "kind" and "key" (or a multi-context), and
// project's env must exist.
func (s *Server) AddContext(project, env string, rec ld.ContextRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.envOf(project, env)
	if err != nil {
		return err
	}
	if len(contextParts(rec.Context)) == 0 {
		return fmt.Errorf("ldfake: AddContext: context %s has no kind and key", rec.Context)
	}
	e.contexts = append(e.contexts, rec)
	return nil
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
	s.notifyLocked()
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

// SetDelay makes every request wait d (or until its client gives up)
// before it is answered: a slow LaunchDarkly. Zero answers at once again.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
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

func (s *Server) envOf(project, env string) (*environment, error) {
	p := s.findProject(project)
	if p == nil {
		return nil, fmt.Errorf("ldfake: unknown project %q", project)
	}
	e := p.findEnv(env)
	if e == nil {
		return nil, fmt.Errorf("ldfake: project %q has no environment %q", project, env)
	}
	return e, nil
}
