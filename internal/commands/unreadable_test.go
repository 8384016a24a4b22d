package commands

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/flagbot/flagbot/internal/secret"
)

// TestUnreadableConnection: a stored token that no configured key opens is
// reported as such by every command that needs it (KindUnreadable, not
// "state store unavailable"), with no LaunchDarkly call; status says so;
// connect opens the modal and stores a new token; disconnect forgets it.
func TestUnreadableConnection(t *testing.T) {
	t.Parallel()
	cmds := []Command{
		Projects{}, Envs{}, List{}, Show{Flag: "x"}, Segments{}, Segment{Key: "s"}, Contexts{}, Context{Key: "k"},
		Audit{}, History{}, Config{Setting: SettingEnv, Value: "prod"}, Config{Setting: SettingRequireReason, Value: "on"},
		On{Flag: "new-checkout", Env: "production"}, Create{Key: "k"}, Delete{Flag: "old-banner"},
		Status{},
	}
	for _, cmd := range cmds {
		t.Run(cmd.Name(), func(t *testing.T) {
			t.Parallel()
			r := newWriteRig(t)
			r.ws.markUnreadable(alice.Workspace)
			var used int
			r.exec.clients = func(secret.Secret) LaunchDarkly { used++; return r.ld }
			_, err := r.exec.Execute(t.Context(), alice, cmd)
			if k := KindOf(err); k != KindUnreadable {
				t.Fatalf("%s: error kind = %v (%v), want %v", cmd.Name(), k, err, KindUnreadable)
			}
			if !errors.Is(err, ErrUnreadable) {
				t.Errorf("%s: error %v does not match ErrUnreadable", cmd.Name(), err)
			}
			if used != 0 {
				t.Errorf("%s: made %d LaunchDarkly clients without a readable token", cmd.Name(), used)
			}
		})
	}

	t.Run("connect", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		r.ws.markUnreadable(alice.Workspace)
		res, err := r.exec.Execute(t.Context(), alice, Connect{})
		if err != nil {
			t.Fatalf("connect with an unreadable token: %v", err)
		}
		if m, ok := res.(ConnectModal); !ok || !reflect.DeepEqual(m, ConnectModal{}) {
			t.Errorf("connect = %#v, want an empty ConnectModal", res)
		}
		r.ld.CallerIdentityFn = func(context.Context) (CallerIdentity, error) { return CallerIdentity{TokenName: "new"}, nil }
		if _, err := r.exec.Connect(t.Context(), alice, ConnectInput{Token: "api-new-token-1234"}); err != nil {
			t.Fatalf("Connect over an unreadable token: %v", err)
		}
		got, err := r.ws.Get(t.Context(), alice.Workspace)
		if err != nil || got.Token.Reveal() != "api-new-token-1234" {
			t.Errorf("after Connect: Get = %v, token replaced = %v", err, got.Token.Reveal() == "api-new-token-1234")
		}
	})

	t.Run("disconnect", func(t *testing.T) {
		t.Parallel()
		r := newWriteRig(t)
		r.ws.markUnreadable(alice.Workspace)
		res, err := r.exec.Execute(t.Context(), alice, Disconnect{})
		if err != nil {
			t.Fatalf("disconnect with an unreadable token: %v", err)
		}
		if d, ok := res.(DisconnectResult); !ok || !d.Unreadable || d.Info != (ConnectionInfo{}) {
			t.Errorf("disconnect = %#v, want DisconnectResult{Unreadable: true}", res)
		}
		if _, err := r.ws.Get(t.Context(), alice.Workspace); !errors.Is(err, ErrNotConnected) {
			t.Errorf("after disconnect: Get error = %v, want ErrNotConnected", err)
		}
		// Only admins, as for any disconnect.
		r.ws.markUnreadable(alice.Workspace)
		_, err = r.exec.Execute(t.Context(), bob, Disconnect{})
		wantKind(t, err, KindNotAdmin)
	})
}
