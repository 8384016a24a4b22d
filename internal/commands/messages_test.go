package commands_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/slackapp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestDecisionMessagesGolden renders every message the two-person rule
// gives about a decision (who decided, why a click was refused) through the
// real Slack renderer, so mentions reach users as mentions and user text
// stays escaped.
func TestDecisionMessagesGolden(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	base := Change{
		ID: "c1", Flag: "new-checkout", Env: "production", RequesterID: "UANA", RequiredApprovals: 2,
		Approvals: []Approval{{UserID: "UBO", At: at}}, ExpiresAt: at.Add(time.Hour), DecidedBy: "UCY",
	}
	with := func(st ChangeStatus, outcome Text) Change {
		c := base
		c.Status, c.Outcome = st, outcome
		if st != StatusPending {
			c.Approvals = append(c.Approvals, Approval{UserID: "UDI", At: at})
		}
		return c
	}
	type named struct {
		Name    string           `json:"name"`
		Message slackapp.Message `json:"message"`
	}
	var all []named
	add := func(name string, err error) {
		all = append(all, named{name, slackapp.RenderError(err, "r1")})
	}
	for _, st := range []ChangeStatus{StatusApproved, StatusApplied, StatusFailed, StatusStale, StatusLDApproval, StatusRejected, StatusCancelled, StatusExpired} {
		outcome := Textf("LaunchDarkly refused the change (HTTP %d): %s", 400, "<!channel> *bad* value")
		add("decided_"+string(st), ChangeError(with(st, outcome), ErrDecided))
	}
	add("not_found", ChangeError(Change{}, ErrChangeNotFound))
	add("self_approval", ChangeError(base, ErrSelfApproval))
	add("not_requester", ChangeError(base, ErrNotRequester))
	add("not_requester_unknown", ChangeError(Change{}, ErrNotRequester))
	add("already_approved", ChangeError(with(StatusPending, nil), ErrAlreadyApproved))
	add("expired", ChangeError(base, ErrExpired))
	add("store", ChangeError(base, errors.New("redis: connection refused")))
	add("approver_group", Errorf(KindForbidden, "Only members of %s can approve or reject changes in this workspace.", Group("S0REL")))
	add("confirm_delete", Errorf(KindConfirm, "Deleting `%s` cannot be undone: type its key to confirm.", "<old>"))
	add("outsider", &Error{Kind: KindOutsider})
	golden(t, "decisions", all)
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from %s:\n%s", name, path, buf.String())
	}
}
