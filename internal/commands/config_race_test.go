package commands

import (
	"context"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/secret"
)

// TestConfigRacesWithConnectionChanges covers an admin disconnecting or
// reconnecting the workspace while /flag config is checking LaunchDarkly:
// the config write must not undo that.
func TestConfigRacesWithConnectionChanges(t *testing.T) {
	original := Connection{Token: secret.Secret("api-a"), TokenID: "tok-a", Role: RoleWriter, DefaultProject: "web", DefaultEnv: "production", ConnectedAt: t0}
	reconnected := Connection{Token: secret.Secret("api-b"), TokenID: "tok-b", Role: RoleReader, DefaultProject: "web", DefaultEnv: "production", ConnectedAt: t0.Add(time.Minute)}
	sameTokenOtherProject := original
	sameTokenOtherProject.DefaultProject, sameTokenOtherProject.DefaultEnv = "api", ""
	sameTokenOtherEnv := original
	sameTokenOtherEnv.DefaultEnv = "staging"

	tests := []struct {
		name     string
		cmd      Config
		between  func(t *testing.T, r *rig) // runs after the LaunchDarkly check, before the write
		wantKind Kind                       // zero with wantOK
		wantOK   bool
		want     *Connection // nil: no connection stored afterwards
	}{
		{
			name:     "project after disconnect",
			cmd:      Config{Setting: SettingProject, Value: "mobile"},
			between:  func(t *testing.T, r *rig) { deleteConn(t, r) },
			wantKind: KindNotConnected,
		},
		{
			name:     "env after disconnect",
			cmd:      Config{Setting: SettingEnv, Value: "staging"},
			between:  func(t *testing.T, r *rig) { deleteConn(t, r) },
			wantKind: KindNotConnected,
		},
		{
			name:     "project after reconnect with another token",
			cmd:      Config{Setting: SettingProject, Value: "mobile"},
			between:  func(t *testing.T, r *rig) { putConn(t, r, reconnected) },
			wantKind: KindConflict,
			want:     &reconnected,
		},
		{
			name:     "env after reconnect with another token",
			cmd:      Config{Setting: SettingEnv, Value: "staging"},
			between:  func(t *testing.T, r *rig) { putConn(t, r, reconnected) },
			wantKind: KindConflict,
			want:     &reconnected,
		},
		{
			name:     "env after the default project changed",
			cmd:      Config{Setting: SettingEnv, Value: "staging"},
			between:  func(t *testing.T, r *rig) { putConn(t, r, sameTokenOtherProject) },
			wantKind: KindConflict,
			want:     &sameTokenOtherProject,
		},
		{
			name:    "project keeps a concurrent env change",
			cmd:     Config{Setting: SettingProject, Value: "mobile"},
			between: func(t *testing.T, r *rig) { putConn(t, r, sameTokenOtherEnv) },
			wantOK:  true,
			want: func() *Connection {
				c := sameTokenOtherEnv
				c.DefaultProject = "mobile"
				return &c
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			putConn(t, r, original)
			r.ld.ListEnvironmentsFn = func(context.Context, string) ([]Environment, error) {
				return []Environment{{Key: "production"}, {Key: "staging"}}, nil
			}
			ran := false
			r.ws.BeforeUpdate = func(context.Context, Workspace) {
				if !ran {
					ran = true
					tt.between(t, r)
				}
			}
			_, err := r.exec.Execute(t.Context(), alice, tt.cmd)
			if !ran {
				t.Fatalf("config did not go through Workspaces.Update")
			}
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Execute: %v", err)
				}
			} else {
				e := wantKind(t, err, tt.wantKind)
				if e.Msg.String() == "" && tt.wantKind != KindNotConnected {
					t.Errorf("error %v has no message for the user", err)
				}
			}
			got, gerr := r.ws.Get(t.Context(), wsA)
			if tt.want == nil {
				if gerr == nil {
					t.Fatalf("config resurrected a removed connection: %+v", got)
				}
				return
			}
			if gerr != nil {
				t.Fatalf("Get: %v", gerr)
			}
			if got != *tt.want {
				t.Errorf("stored connection = %+v, want %+v", got, *tt.want)
			}
		})
	}
}

func deleteConn(t *testing.T, r *rig) {
	t.Helper()
	if err := r.ws.Delete(t.Context(), wsA); err != nil {
		t.Fatal(err)
	}
}

func putConn(t *testing.T, r *rig, c Connection) {
	t.Helper()
	if err := r.ws.Put(t.Context(), wsA, c); err != nil {
		t.Fatal(err)
	}
}
