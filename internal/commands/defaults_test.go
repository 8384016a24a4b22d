package commands

import (
	"context"
	"errors"
	"testing"

	"github.com/flagbot/flagbot/internal/secret"
)

func TestInferDefaults(t *testing.T) {
	envsOf := map[string][]Environment{
		"web":     {{Key: "staging"}, {Key: "production", Critical: true}},
		"default": {{Key: "dev"}, {Key: "prod-eu", Critical: true}, {Key: "prod-us", Critical: true}},
		"mobile":  {{Key: "dev"}, {Key: "qa"}},
	}
	many := []Project{{Key: "web", Name: "Web"}, {Key: "mobile", Name: "apps"}, {Key: "zeta"}, {Key: "alpha", Name: "Zulu"}, {Key: "beta"}, {Key: "gamma"}}
	tests := []struct {
		name         string
		projects     []Project
		listErr      error
		typedProject string
		typedEnv     string
		want         DefaultsChoice
		wantField    string
		wantMsg      string
	}{
		{name: "only project", projects: []Project{{Key: "web"}}, want: DefaultsChoice{Project: "web", ProjectReason: ReasonOnlyProject, Env: "production", EnvReason: ReasonProduction, Projects: 1}},
		{name: "named default", projects: []Project{{Key: "web", Name: "A web"}, {Key: "default", Name: "Zed"}}, want: DefaultsChoice{Project: "default", ProjectReason: ReasonNamedDefault, Env: "prod-eu", EnvReason: ReasonFirstCritical, Projects: 2}},
		{name: "first by name", projects: many, want: DefaultsChoice{Project: "mobile", ProjectReason: ReasonFirstByName, Env: "", Projects: 6}},
		{name: "none", projects: nil, want: DefaultsChoice{}},
		{name: "typed", projects: many, typedProject: "WEB", typedEnv: "Staging", want: DefaultsChoice{Project: "web", ProjectReason: ReasonTyped, Env: "staging", EnvReason: ReasonTyped, Projects: 6}},
		{name: "typed project, env inferred", projects: many, typedProject: "web", want: DefaultsChoice{Project: "web", ProjectReason: ReasonTyped, Env: "production", EnvReason: ReasonProduction, Projects: 6}},
		{name: "typed project unknown", projects: many, typedProject: "wbe", wantField: FieldProject,
			wantMsg: "LaunchDarkly has no project \"wbe\" (or this token can't see it). It has: web, alpha, beta, gamma, mobile, …."},
		{name: "typed env unknown", projects: many, typedProject: "mobile", typedEnv: "prod", wantField: FieldEnv,
			wantMsg: "Project \"mobile\" has no environment \"prod\". It has: dev, qa."},
		{name: "may not list, typed", listErr: remoteErr(403, ""), typedProject: "web", want: DefaultsChoice{Project: "web", ProjectReason: ReasonTyped, Env: "production", EnvReason: ReasonProduction}},
		{name: "may not list", listErr: remoteErr(403, ""), want: DefaultsChoice{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld := &fakeLD{
				ListProjectsFn: func(context.Context) ([]Project, error) { return tt.projects, tt.listErr },
				ListEnvironmentsFn: func(_ context.Context, p string) ([]Environment, error) {
					envs, ok := envsOf[p]
					if !ok {
						return []Environment{{Key: "development"}}, nil
					}
					return envs, nil
				},
			}
			got, err := inferDefaults(t.Context(), ld, tt.typedProject, tt.typedEnv)
			if tt.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("inferDefaults error = %v, want a FieldError on %s", err, tt.wantField)
				}
				if fe.Msg.PlainString() != tt.wantMsg {
					t.Errorf("message:\n got %q\nwant %q", fe.Msg.PlainString(), tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("inferDefaults = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDefaultsText(t *testing.T) {
	tests := []struct {
		in   DefaultsChoice
		want string
	}{
		{DefaultsChoice{}, ""},
		{DefaultsChoice{Project: "web", ProjectReason: ReasonOnlyProject, Env: "production", EnvReason: ReasonProduction, Projects: 1},
			"Default project `web` (the only project this token can see), environment `production`. Change them with `/flag config project <key>` and `/flag config env <key>`."},
		{DefaultsChoice{Project: "default", ProjectReason: ReasonNamedDefault, Env: "prod-eu", EnvReason: ReasonFirstCritical, Projects: 2},
			"Default project `default` (the project with key `default`), environment `prod-eu` (its first critical environment). Change them with `/flag config project <key>` and `/flag config env <key>`."},
		{DefaultsChoice{Project: "mobile", ProjectReason: ReasonFirstByName, Projects: 6},
			"Default project `mobile` (the first of its 6 projects by name), no default environment (it has no `production` or critical one): commands name one, or set it with `/flag config env <key>`."},
		{DefaultsChoice{Project: "web", ProjectReason: ReasonTyped, Env: "staging", EnvReason: ReasonTyped},
			"Default project `web`, environment `staging`. Change them with `/flag config project <key>` and `/flag config env <key>`."},
	}
	for _, tt := range tests {
		if got := tt.in.Text().String(); got != tt.want {
			t.Errorf("%+v.Text():\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// firstUseRig is a workspace connected with a token only, as stored before
// Flagbot inferred defaults.
func firstUseRig(t *testing.T) (*rig, *int) {
	t.Helper()
	r := newRig(t)
	if err := r.ws.Put(t.Context(), wsA, Connection{Token: secret.Secret("api-a"), Role: RoleWriter}); err != nil {
		t.Fatal(err)
	}
	lists := 0
	r.ld.ListProjectsFn = func(context.Context) ([]Project, error) {
		lists++
		return []Project{{Key: "default"}, {Key: "web"}}, nil
	}
	r.ld.ListEnvironmentsFn = func(context.Context, string) ([]Environment, error) {
		return []Environment{{Key: "test"}, {Key: "production"}}, nil
	}
	r.ld.ListFlagsFn = func(_ context.Context, p string, q FlagQuery) (FlagPage, error) {
		if p != "default" || q.Env != "production" {
			t.Errorf("ListFlags(%q, env %q), want the inferred defaults", p, q.Env)
		}
		return FlagPage{}, nil
	}
	return r, &lists
}

func TestDefaultsAdoptedOnFirstUse(t *testing.T) {
	r, lists := firstUseRig(t)
	res, err := r.exec.Execute(t.Context(), bob, List{})
	if err != nil {
		t.Fatal(err)
	}
	inner, notice := SplitNotice(res)
	if _, ok := inner.(FlagListResult); !ok {
		t.Fatalf("result %T, want a FlagListResult inside a notice", inner)
	}
	want := "This workspace had no default project, so I chose one. Default project `default` (the project with key `default`), environment `production`. Change them with `/flag config project <key>` and `/flag config env <key>`."
	if notice.String() != want {
		t.Errorf("notice:\n got %q\nwant %q", notice.String(), want)
	}
	stored, _ := r.ws.Get(t.Context(), wsA)
	if stored.DefaultProject != "default" || stored.DefaultEnv != "production" {
		t.Errorf("stored defaults %q, %q; want default, production", stored.DefaultProject, stored.DefaultEnv)
	}
	// Said once: the next command neither infers nor says it again.
	res, err = r.exec.Execute(t.Context(), bob, List{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.(Noticed); ok || *lists != 1 {
		t.Errorf("second command: result %T after %d project lists; want no notice and one list", res, *lists)
	}
}

func TestDefaultsNoticeRidesOnAFailure(t *testing.T) {
	r, _ := firstUseRig(t)
	r.ld.GetFlagFn = func(context.Context, string, string, ...string) (Flag, error) { return Flag{}, errNF }
	r.ld.ListFlagsFn = func(context.Context, string, FlagQuery) (FlagPage, error) { return FlagPage{}, nil }
	_, err := r.exec.Execute(t.Context(), bob, Show{Flag: "nope"})
	e := wantKind(t, err, KindNotFound)
	if e.Notice.IsZero() {
		t.Error("the failed first command did not say which defaults it chose")
	}
	if e.Field != FieldFlag {
		t.Errorf("Field = %q, want %q", e.Field, FieldFlag)
	}
}

func TestDefaultsNotAdoptedOverAConcurrentChoice(t *testing.T) {
	r, _ := firstUseRig(t)
	r.ws.BeforeUpdate = func(ctx context.Context, ws Workspace) {
		r.ws.mu.Lock()
		c := r.ws.conns[ws]
		c.DefaultProject, c.DefaultEnv = "web", "test"
		r.ws.conns[ws] = c
		r.ws.mu.Unlock()
	}
	r.ld.ListFlagsFn = func(context.Context, string, FlagQuery) (FlagPage, error) { return FlagPage{}, nil }
	res, err := r.exec.Execute(t.Context(), bob, List{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.(Noticed); ok {
		t.Error("a choice an admin made meanwhile was announced as Flagbot's")
	}
	if q := res.(FlagListResult).Query; q.Project != "web" || q.Env != "test" {
		t.Errorf("listed %s/%s, want the admin's web/test", q.Project, q.Env)
	}
	if c, _ := r.ws.Get(t.Context(), wsA); c.DefaultProject != "web" {
		t.Errorf("stored project %q, want web", c.DefaultProject)
	}
}

func TestConnectChoices(t *testing.T) {
	r := newRig(t)
	r.ld.CallerIdentityFn = func(context.Context) (CallerIdentity, error) {
		return CallerIdentity{TokenID: "t1", TokenName: "id name"}, nil
	}
	r.ld.GetTokenFn = func(context.Context, string) (Token, error) { return Token{Name: "flagbot", Role: "writer"}, nil }
	r.ld.ListProjectsFn = func(context.Context) ([]Project, error) { return []Project{{Key: "web"}, {Key: "default"}}, nil }
	r.ld.ListEnvironmentsFn = func(_ context.Context, p string) ([]Environment, error) {
		if p == "web" {
			return []Environment{{Key: "staging"}, {Key: "production"}}, nil
		}
		return []Environment{{Key: "test"}, {Key: "live", Critical: true}}, nil
	}
	m, err := r.exec.ConnectChoices(t.Context(), alice, ConnectInput{Token: " api-x "})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Checked || m.TokenName != "flagbot" || m.Role != RoleWriter || len(m.Projects) != 2 || m.DefaultProject != "default" || m.DefaultEnv != "live" || len(m.Envs) != 2 {
		t.Errorf("choices = %+v", m)
	}
	m, err = r.exec.ConnectChoices(t.Context(), alice, ConnectInput{Token: "api-x", Project: "web"})
	if err != nil || m.DefaultProject != "web" || m.DefaultEnv != "production" || m.Envs[0].Key != "staging" {
		t.Errorf("choices for web = %+v, %v", m, err)
	}
	if _, err := r.exec.ConnectChoices(t.Context(), alice, ConnectInput{Token: "api-x", Project: "nope"}); !isField(err, FieldProject) {
		t.Errorf("unknown project: %v", err)
	}
	if _, err := r.exec.ConnectChoices(t.Context(), alice, ConnectInput{Token: "sdk-123"}); !isField(err, FieldToken) {
		t.Errorf("sdk key: %v", err)
	}
	if _, err := r.exec.ConnectChoices(t.Context(), bob, ConnectInput{Token: "api-x"}); KindOf(err) != KindNotAdmin {
		t.Errorf("non-admin: %v", err)
	}
	if s, _ := r.ws.Get(t.Context(), wsA); s.Token != "" {
		t.Error("checking a token stored it")
	}
}

func isField(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field
}
