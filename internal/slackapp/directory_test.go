package slackapp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/flagbot/flagbot/internal/commands"
)

// usersInfoServer answers users.info with the users given (by ID, as Slack
// sends them) and counts the calls.
func usersInfoServer(t *testing.T, users map[string]map[string]any) (string, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/users.info" {
			t.Errorf("unexpected call %s", r.URL.Path)
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		u, ok := users[r.Form.Get("user")]
		if !ok {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "user": u})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/", &calls
}

// TestIsAdminEnterpriseGrid: in an org-wide install, is_admin from
// users.info counts only in the user's own workspace; elsewhere in the org
// only org admins and owners are admins.
func TestIsAdminEnterpriseGrid(t *testing.T) {
	t.Parallel()
	grid := func(team string) commands.Workspace { return commands.Workspace{TeamID: team, EnterpriseID: "E1"} }
	user := func(id, team string, admin bool, ent map[string]any) map[string]any {
		u := map[string]any{"id": id, "team_id": team, "name": id, "is_admin": admin}
		if ent != nil {
			u["enterprise_user"] = ent
		}
		return u
	}
	org := func(ent string, admin, owner bool) map[string]any {
		return map[string]any{"id": "W0", "enterprise_id": ent, "is_admin": admin, "is_owner": owner, "teams": []string{"T1", "T2"}}
	}
	users := map[string]map[string]any{
		"UT1ADMIN":  user("UT1ADMIN", "T1", true, org("E1", false, false)), // admin of workspace T1
		"UT1USER":   user("UT1USER", "T1", false, org("E1", false, false)), // plain member
		"WORGADMIN": user("WORGADMIN", "T1", false, org("E1", true, false)),
		"WORGOWNER": user("WORGOWNER", "T1", false, org("E1", false, true)),
		"UE2ADMIN":  user("UE2ADMIN", "T9", true, org("E2", true, true)), // another org
		"UPLAIN":    user("UPLAIN", "T5", true, nil),                     // no grid: admin of T5
		"UNOTEAM":   user("UNOTEAM", "", true, nil),                      // Slack named no team
		"UGONE":     {"id": "UGONE", "team_id": "T1", "is_admin": true, "deleted": true},
	}
	api, calls := usersInfoServer(t, users)
	d := NewDirectory("xoxb-test", []string{"UALLOWED"}, Options{APIURL: api})
	tests := []struct {
		user string
		ws   commands.Workspace
		want bool
	}{
		{"UT1ADMIN", grid("T1"), true},  // own workspace
		{"UT1ADMIN", grid("T2"), false}, // another workspace of the same org
		{"UT1USER", grid("T1"), false},  // not an admin anywhere
		{"WORGADMIN", grid("T2"), true}, // org admin: every workspace of the org
		{"WORGOWNER", grid("T3"), true}, // org owner
		{"UE2ADMIN", grid("T2"), false}, // admin of another org
		{"UPLAIN", commands.Workspace{TeamID: "T5"}, true},
		{"UPLAIN", commands.Workspace{TeamID: "T6"}, false},
		{"UNOTEAM", commands.Workspace{TeamID: "T5"}, false},
		{"UGONE", grid("T1"), false},
		{"UALLOWED", grid("T2"), true}, // FLAGBOT_ADMINS, no users.info
	}
	for _, tt := range tests {
		got, err := d.IsAdmin(t.Context(), commands.Actor{Workspace: tt.ws, UserID: tt.user})
		if err != nil {
			t.Fatalf("IsAdmin(%s in %+v): %v", tt.user, tt.ws, err)
		}
		if got != tt.want {
			t.Errorf("IsAdmin(%s in %+v) = %v, want %v", tt.user, tt.ws, got, tt.want)
		}
	}
	if n := calls.Load(); int(n) != len(users) {
		t.Errorf("users.info called %d times for %d users, want once each (cached)", n, len(users))
	}
}

// TestWhoOutsidersAndGuests: who is an outsider (not of the workspace or,
// in a grid, not of its org; or of no team Slack names) and who is a guest.
func TestWhoOutsidersAndGuests(t *testing.T) {
	t.Parallel()
	users := map[string]map[string]any{
		"UMEMBER":  {"id": "UMEMBER", "team_id": "T1"},
		"UGUEST":   {"id": "UGUEST", "team_id": "T1", "is_restricted": true},
		"USINGLE":  {"id": "USINGLE", "team_id": "T1", "is_ultra_restricted": true},
		"UCONNECT": {"id": "UCONNECT", "team_id": "T9"}, // Slack Connect: another organisation
		"UORG":     {"id": "UORG", "team_id": "T2", "enterprise_user": map[string]any{"enterprise_id": "E1"}},
		"UOTHER":   {"id": "UOTHER", "team_id": "T2", "enterprise_user": map[string]any{"enterprise_id": "E2"}},
		"UNOTEAM":  {"id": "UNOTEAM"},
	}
	api, _ := usersInfoServer(t, users)
	d := NewDirectory("xoxb-test", nil, Options{APIURL: api})
	plain, grid := commands.Workspace{TeamID: "T1"}, commands.Workspace{TeamID: "T1", EnterpriseID: "E1"}
	for _, tt := range []struct {
		user          string
		ws            commands.Workspace
		outsider, gst bool
	}{
		{"UMEMBER", plain, false, false},
		{"UGUEST", plain, false, true},
		{"USINGLE", plain, false, true},
		{"UCONNECT", plain, true, false},
		{"UCONNECT", grid, true, false},
		{"UORG", grid, false, false},  // same org, another workspace
		{"UORG", plain, true, false},  // no grid: another team is another organisation
		{"UOTHER", grid, true, false}, // another org
		{"UNOTEAM", plain, true, false},
	} {
		out, guest, err := d.Who(t.Context(), tt.ws, tt.user)
		if err != nil {
			t.Fatalf("Who(%s): %v", tt.user, err)
		}
		if out != tt.outsider || guest != tt.gst {
			t.Errorf("Who(%s in %+v) = outsider %v, guest %v; want %v, %v", tt.user, tt.ws, out, guest, tt.outsider, tt.gst)
		}
	}
}
