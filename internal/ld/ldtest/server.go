package ldtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldfake"
	"github.com/flagbot/flagbot/internal/secret"
)

// The fake's types, under the names tests have always used.
type (
	// TokenInfo describes an access token the fake accepts.
	TokenInfo = ldfake.TokenInfo
	// EnvSpec describes an environment added with AddProject.
	EnvSpec = ldfake.EnvSpec
	// Request is one request the fake received.
	Request = ldfake.Request
	// ApprovalRequest is one LaunchDarkly approval request the fake received.
	ApprovalRequest = ldfake.ApprovalRequest
)

// Server is an ldfake.Server on an httptest server. Every ldfake method is
// available; the seeding methods below fail the test instead of returning an
// error.
type Server struct {
	*ldfake.Server
	t   testing.TB
	srv *httptest.Server

	mu    sync.Mutex
	gates []*gate
}

// gate holds the next request with a method until released.
type gate struct {
	method  string
	arrived chan struct{}
	release chan struct{}
}

// NewServer starts a fake LaunchDarkly server; it is closed through
// t.Cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	fake := ldfake.New()
	s := &Server{Server: fake, t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.wait(r)
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// Gate holds the next request with method (e.g. PATCH) before the fake
// sees it: arrived closes when it arrives, and the request proceeds once
// release is called. Tests use it to stop a write in flight. release is
// also called through t.Cleanup, so a forgotten gate never hangs a test.
func (s *Server) Gate(method string) (arrived <-chan struct{}, release func()) {
	g := &gate{method: method, arrived: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.gates = append(s.gates, g)
	s.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(g.release) }) }
	s.t.Cleanup(release)
	return g.arrived, release
}

func (s *Server) wait(r *http.Request) {
	s.mu.Lock()
	var g *gate
	for i, c := range s.gates {
		if c.method == r.Method {
			g = c
			s.gates = append(s.gates[:i], s.gates[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if g == nil {
		return
	}
	close(g.arrived)
	<-g.release
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

// AddProject adds a project with the given environments, in order; adding
// a key twice fails the test.
func (s *Server) AddProject(p ld.Project, envs ...EnvSpec) {
	s.t.Helper()
	if err := s.Server.AddProject(p, envs...); err != nil {
		s.t.Fatal(err)
	}
}

// AddFlag adds f to project, filling in defaults as ldfake.Server.AddFlag
// describes; an unknown project or environment or a duplicate key fails the
// test.
func (s *Server) AddFlag(project string, f ld.Flag) {
	s.t.Helper()
	if err := s.Server.AddFlag(project, f); err != nil {
		s.t.Fatal(err)
	}
}

// AddSegment adds seg to project's env; an unknown one fails the test.
func (s *Server) AddSegment(project, env string, seg ld.Segment) {
	s.t.Helper()
	if err := s.Server.AddSegment(project, env, seg); err != nil {
		s.t.Fatal(err)
	}
}

// AddContext adds a context record to project's env; an unknown
// environment or a context without kind and key fails the test.
func (s *Server) AddContext(project, env string, rec ld.ContextRecord) {
	s.t.Helper()
	if err := s.Server.AddContext(project, env, rec); err != nil {
		s.t.Fatal(err)
	}
}
