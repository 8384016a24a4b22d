package commands

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/secret"
)

var (
	wsA    = Workspace{TeamID: "TA"}
	wsB    = Workspace{TeamID: "TB", EnterpriseID: "E1"}
	alice  = Actor{Workspace: wsA, UserID: "UALICE"}
	bob    = Actor{Workspace: wsA, UserID: "UBOB"}
	carol  = Actor{Workspace: wsB, UserID: "UCAROL"}
	t0     = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	errNF  = remoteErr(404, "")
	err401 = remoteErr(401, "")
)

type rig struct {
	ld     *fakeLD
	ws     *memWorkspaces
	used   []string
	exec   *Executor
	admins adminSet
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{ld: &fakeLD{}, ws: newMemWorkspaces(), admins: adminSet{"UALICE": true}}
	r.exec = NewExecutor(r.ws, clientsFor(r.ld, &r.used), r.admins, nil, nil, nil, Options{BaseURL: "https://ld.example/", Now: func() time.Time { return t0 }})
	return r
}

func (r *rig) connect(t *testing.T, ws Workspace, token, project, env string) {
	t.Helper()
	if err := r.ws.Put(t.Context(), ws, Connection{Token: secret.Secret(token), Role: RoleWriter, DefaultProject: project, DefaultEnv: env}); err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, k Kind) *Error {
	t.Helper()
	if got := KindOf(err); got != k {
		t.Fatalf("error kind = %v (%v), want %v", got, err, k)
	}
	var e *Error
	errors.As(err, &e)
	return e
}

func TestNotConnectedMakesNoLaunchDarklyCall(t *testing.T) {
	for _, cmd := range []Command{Projects{}, Envs{}, List{}, Show{Flag: "x"}, Segments{}, Segment{Key: "s"}, Contexts{}, Context{Key: "k"}, Audit{}, Disconnect{}, Config{Setting: SettingEnv, Value: "prod"}} {
		t.Run(cmd.Name(), func(t *testing.T) {
			r := newRig(t)
			_, err := r.exec.Execute(t.Context(), alice, cmd)
			wantKind(t, err, KindNotConnected)
			if len(r.used) != 0 {
				t.Errorf("made a LaunchDarkly client for %v", r.used)
			}
		})
	}
}

func TestStatusNotConnected(t *testing.T) {
	r := newRig(t)
	res, err := r.exec.Execute(t.Context(), bob, Status{})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.(StatusResult); s.Connected {
		t.Errorf("Connected = true for a workspace with no token")
	}
}

func TestEachWorkspaceUsesItsOwnToken(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-token-a", "web", "production")
	r.connect(t, wsB, "api-token-b", "web", "production")
	r.ld.ListProjectsFn = func(context.Context) ([]Project, error) { return []Project{{Key: "web"}}, nil }
	for _, a := range []Actor{alice, carol, bob} {
		if _, err := r.exec.Execute(t.Context(), a, Projects{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"api-token-a", "api-token-b", "api-token-a"}
	if !reflect.DeepEqual(r.used, want) {
		t.Errorf("tokens used = %v, want %v", r.used, want)
	}
}

func TestShowFindsFlagCaseInsensitively(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-a", "web", "Production")
	flag := Flag{Key: "new-checkout", Environments: map[string]FlagEnvironment{"production": {On: true}, "staging": {}}}
	r.ld.GetFlagFn = func(_ context.Context, project, key string, _ ...string) (Flag, error) {
		if project != "web" {
			t.Errorf("project = %q, want web", project)
		}
		if key == "new-checkout" {
			return flag, nil
		}
		return Flag{}, errNF
	}
	r.ld.ListFlagsFn = func(context.Context, string, FlagQuery) (FlagPage, error) {
		return FlagPage{Items: []Flag{{Key: "new-checkout"}, {Key: "old-checkout"}}, TotalCount: 2}, nil
	}
	res, err := r.exec.Execute(t.Context(), bob, Show{Flag: "New-Checkout"})
	if err != nil {
		t.Fatal(err)
	}
	got := res.(FlagResult)
	if got.Flag.Key != "new-checkout" || got.Env != "production" || got.Project != "web" {
		t.Errorf("got flag %q env %q project %q, want new-checkout production web", got.Flag.Key, got.Env, got.Project)
	}
}

func TestShowUnknownFlagSuggests(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-a", "web", "")
	r.ld.GetFlagFn = func(context.Context, string, string, ...string) (Flag, error) { return Flag{}, errNF }
	r.ld.ListFlagsFn = func(_ context.Context, _ string, o FlagQuery) (FlagPage, error) {
		return FlagPage{Items: []Flag{{Key: "checkout-v2"}, {Key: "checkout"}, {Key: "dark-mode"}, {Key: "checkouts"}, {Key: "checkout-banner"}}, TotalCount: 5}, nil
	}
	_, err := r.exec.Execute(t.Context(), bob, Show{Flag: "chekout"})
	e := wantKind(t, err, KindNotFound)
	if len(e.Suggestions) == 0 || len(e.Suggestions) > 3 || e.Suggestions[0] != "checkout" {
		t.Errorf("suggestions = %v, want up to 3 starting with checkout", e.Suggestions)
	}
	if !strings.Contains(e.Msg.String(), "chekout") {
		t.Errorf("message %q does not name the flag", e.Msg.String())
	}
}

func TestShowUnknownEnvironment(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-a", "web", "")
	r.ld.GetFlagFn = func(context.Context, string, string, ...string) (Flag, error) {
		return Flag{Key: "f", Environments: map[string]FlagEnvironment{"production": {}, "staging": {}}}, nil
	}
	_, err := r.exec.Execute(t.Context(), bob, Show{Flag: "f", Env: "prodution"})
	e := wantKind(t, err, KindNotFound)
	if len(e.Suggestions) != 1 || e.Suggestions[0] != "production" {
		t.Errorf("suggestions = %v, want [production]", e.Suggestions)
	}
}

func TestNoProject(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-a", "", "")
	_, err := r.exec.Execute(t.Context(), bob, List{})
	e := wantKind(t, err, KindInvalid)
	if !strings.Contains(e.Msg.String(), "--project") {
		t.Errorf("message %q does not say how to name a project", e.Msg.String())
	}
}

func TestListPaging(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-a", "web", "production")
	var got FlagQuery
	r.ld.ListFlagsFn = func(_ context.Context, _ string, o FlagQuery) (FlagPage, error) {
		got = o
		items := make([]Flag, 20)
		return FlagPage{Items: items, TotalCount: 45}, nil
	}
	res, err := r.exec.Execute(t.Context(), bob, List{Words: "check", Tag: "web", Offset: 20})
	if err != nil {
		t.Fatal(err)
	}
	want := FlagQuery{Env: "production", Query: "check", Tag: "web", Limit: 20, Offset: 20}
	if got != want {
		t.Errorf("ListFlags options = %+v, want %+v", got, want)
	}
	if l := res.(FlagListResult); l.NextOffset != 40 || l.Total != 45 {
		t.Errorf("NextOffset, Total = %d, %d; want 40, 45", l.NextOffset, l.Total)
	}
}

func TestLaunchDarklyErrorKinds(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"unauthorized", err401, KindUnauthorized},
		{"forbidden", remoteErr(403, ""), KindForbidden},
		{"rate limited", remoteErr(429, ""), KindRateLimited},
		{"server error", remoteErr(500, ""), KindUnavailable},
		{"network", &RemoteError{Kind: KindUnavailable, Err: errors.New("dial tcp: refused")}, KindUnavailable},
		{"bad request", remoteErr(400, "bad filter"), KindInvalid},
		{"deadline", context.DeadlineExceeded, KindTimeout},
		{"other", errors.New("boom"), KindInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.connect(t, wsA, "api-a", "web", "production")
			r.ld.ListProjectsFn = func(context.Context) ([]Project, error) { return nil, tt.err }
			_, err := r.exec.Execute(t.Context(), bob, Projects{})
			wantKind(t, err, tt.want)
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap %v", err, tt.err)
			}
		})
	}
}

func TestStoreUnavailable(t *testing.T) {
	r := newRig(t)
	r.ws.Err = errors.New("redis: connection refused")
	for _, cmd := range []Command{Status{}, Projects{}, Connect{}} {
		_, err := r.exec.Execute(t.Context(), alice, cmd)
		wantKind(t, err, KindStoreUnavailable)
	}
	r.ld.CallerIdentityFn = func(context.Context) (CallerIdentity, error) { return CallerIdentity{TokenName: "t"}, nil }
	r.ld.ListProjectsFn = func(context.Context) ([]Project, error) { return nil, nil }
	_, err := r.exec.Connect(t.Context(), alice, ConnectInput{Token: "api-x"})
	wantKind(t, err, KindStoreUnavailable)
}

func TestAdminOnly(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-a", "web", "production")
	for _, cmd := range []Command{Connect{}, Disconnect{}, Config{Setting: SettingProject, Value: "web"}} {
		_, err := r.exec.Execute(t.Context(), bob, cmd)
		wantKind(t, err, KindNotAdmin)
	}
	_, err := r.exec.Connect(t.Context(), bob, ConnectInput{Token: "api-x"})
	wantKind(t, err, KindNotAdmin)
	if len(r.used) != 0 {
		t.Errorf("a non-admin reached LaunchDarkly with %v", r.used)
	}
}

func TestConnect(t *testing.T) {
	envs := []Environment{{Key: "production"}, {Key: "staging"}}
	tests := []struct {
		name      string
		in        ConnectInput
		identity  error
		token     Token
		tokenErr  error
		wantField string
		wantRole  string
		wantEnv   string
	}{
		{name: "writer", in: ConnectInput{Token: " api-writer-token \n", Project: "web", Env: "Staging"}, token: Token{Role: "writer", Name: "flagbot"}, wantRole: RoleWriter, wantEnv: "staging"},
		{name: "reader", in: ConnectInput{Token: "api-reader-token"}, token: Token{Role: "reader"}, wantRole: RoleReader, wantEnv: "production"},
		{name: "custom", in: ConnectInput{Token: "api-custom-token"}, token: Token{CustomRoleIDs: []string{"r"}}, wantRole: RoleCustom, wantEnv: "production"},
		{name: "role hidden", in: ConnectInput{Token: "api-narrow-token"}, tokenErr: remoteErr(403, ""), wantRole: RoleUnknown, wantEnv: "production"},
		{name: "empty", in: ConnectInput{Token: "  "}, wantField: FieldToken},
		{name: "sdk key", in: ConnectInput{Token: "sdk-1234-5678"}, wantField: FieldToken},
		{name: "rejected", in: ConnectInput{Token: "api-bad-token"}, identity: err401, wantField: FieldToken},
		{name: "ld down", in: ConnectInput{Token: "api-ok-token"}, identity: remoteErr(503, ""), wantField: FieldToken},
		{name: "unknown project", in: ConnectInput{Token: "api-ok-token", Project: "nope"}, wantField: FieldProject},
		{name: "unknown env", in: ConnectInput{Token: "api-ok-token", Project: "web", Env: "qa"}, wantField: FieldEnv},
		{name: "env without project", in: ConnectInput{Token: "api-ok-token", Env: "qa"}, wantField: FieldProject},
		{name: "token pasted as project", in: ConnectInput{Token: "api-ok-token", Project: "api-0f0e0d0c-1234-5678-9abc"}, wantField: FieldProject},
		{name: "sdk key pasted as env", in: ConnectInput{Token: "api-ok-token", Project: "web", Env: "sdk-0f0e0d0c-1234-5678-9abc"}, wantField: FieldEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.ld.CallerIdentityFn = func(context.Context) (CallerIdentity, error) {
				return CallerIdentity{TokenID: "tok1", TokenName: "from identity"}, tt.identity
			}
			r.ld.GetTokenFn = func(context.Context, string) (Token, error) { return tt.token, tt.tokenErr }
			r.ld.ListProjectsFn = func(context.Context) ([]Project, error) { return []Project{{Key: "web"}}, nil }
			r.ld.ListEnvironmentsFn = func(_ context.Context, p string) ([]Environment, error) {
				if p != "web" {
					return nil, errNF
				}
				return envs, nil
			}
			res, err := r.exec.Connect(t.Context(), alice, tt.in)
			if tt.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("Connect error = %v, want a FieldError on %s", err, tt.wantField)
				}
				if strings.Contains(fe.Error(), tt.in.Token.Reveal()) && strings.TrimSpace(tt.in.Token.Reveal()) != "" {
					t.Errorf("field error %q contains the token", fe.Error())
				}
				if _, err := r.ws.Get(t.Context(), wsA); !errors.Is(err, ErrNotConnected) {
					t.Errorf("a failed connect stored a connection")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Info.Role != tt.wantRole || res.Info.DefaultEnv != tt.wantEnv {
				t.Errorf("role, env = %q, %q; want %q, %q", res.Info.Role, res.Info.DefaultEnv, tt.wantRole, tt.wantEnv)
			}
			stored, err := r.ws.Get(t.Context(), wsA)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSpace(tt.in.Token.Reveal()); stored.Token.Reveal() != want {
				t.Errorf("stored token was not trimmed")
			}
			if stored.ConnectedBy != "UALICE" || !stored.ConnectedAt.Equal(t0) {
				t.Errorf("stored by %q at %v", stored.ConnectedBy, stored.ConnectedAt)
			}
		})
	}
}

func TestConfigEnvValidates(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-a", "web", "")
	r.ld.ListEnvironmentsFn = func(context.Context, string) ([]Environment, error) {
		return []Environment{{Key: "production"}}, nil
	}
	_, err := r.exec.Execute(t.Context(), alice, Config{Setting: SettingEnv, Value: "prod"})
	e := wantKind(t, err, KindNotFound)
	if len(e.Suggestions) != 1 {
		t.Errorf("suggestions = %v", e.Suggestions)
	}
	if _, err := r.exec.Execute(t.Context(), alice, Config{Setting: SettingEnv, Value: "PRODUCTION"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := r.ws.Get(t.Context(), wsA); c.DefaultEnv != "production" {
		t.Errorf("DefaultEnv = %q, want production", c.DefaultEnv)
	}
}

func TestAuditDefaults(t *testing.T) {
	r := newRig(t)
	r.connect(t, wsA, "api-a", "web", "production")
	var got AuditQuery
	r.ld.ListAuditLogFn = func(_ context.Context, o AuditQuery) ([]AuditEntry, error) {
		got = o
		return nil, nil
	}
	if _, err := r.exec.Execute(t.Context(), bob, Audit{Flag: "checkout", Env: "staging"}); err != nil {
		t.Fatal(err)
	}
	want := AuditQuery{Spec: "proj/web:env/staging:flag/checkout", After: t0.Add(-24 * time.Hour), Limit: 20}
	if got != want {
		t.Errorf("ListAuditLog options = %+v, want %+v", got, want)
	}
}

func TestContextFilter(t *testing.T) {
	tests := []struct{ words, kind, want string }{
		{"", "", ""},
		{"ana", "", `q equals "ana"`},
		{`ana" or "x`, "user", `q equals "ana or x",kind equals "user"`},
	}
	for _, tt := range tests {
		if got := contextFilter(tt.words, tt.kind); got != tt.want {
			t.Errorf("contextFilter(%q, %q) = %q, want %q", tt.words, tt.kind, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	tests := []struct {
		typed string
		cands []string
		want  []string
	}{
		{"chekout", []string{"checkout", "dark-mode"}, []string{"checkout"}},
		{"zzz", []string{"checkout", "dark-mode"}, []string{}},
		{"prod", []string{"production", "staging"}, []string{"production"}},
	}
	for _, tt := range tests {
		if got := closest(tt.typed, tt.cands); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("closest(%q) = %v, want %v", tt.typed, got, tt.want)
		}
	}
}
