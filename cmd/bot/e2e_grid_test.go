package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/approvals"
	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/slackfake"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

// gridID is the Enterprise Grid org the test workspace joins.
const gridID = "E0GRID"

// commandIn is command for a workspace inside an Enterprise Grid org:
// Slack sends the org's ID with the command.
func (b *bot) commandIn(t testing.TB, team, enterprise, user, text string) slackfake.Response {
	t.Helper()
	sent := time.Now()
	id, err := b.slack.SlashCommand(slackfake.SlashCommand{TeamID: team, EnterpriseID: enterprise, UserID: user, ChannelID: channelID, Text: text})
	if err != nil {
		t.Fatalf("send /flag %s: %v", text, err)
	}
	if _, err := b.slack.WaitAck(waitCtx(t), id); err != nil {
		t.Fatalf("no ack for /flag %s: %v", text, err)
	}
	return b.responseAfter(t, sent, "/flag "+text)
}

// TestWorkspaceJoinsGridThroughRun: a workspace connected and configured
// before it joined an Enterprise Grid org keeps its connection, its policy
// and its pending requests once Slack sends the org's ID, on a real Redis.
func TestWorkspaceJoinsGridThroughRun(t *testing.T) {
	rs := startRedisServer(t)
	sl, lds := newSlack(t), newLD(t)
	b := startBot(t, sl, lds, keys(rs.url(), testKeyB64)...)
	if ack := b.connect(t, teamID, adminID, writerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect failed: %s", ack.Payload)
	}
	wantContains(t, "config before", string(b.command(t, teamID, adminID, "config require-reason on").Body), "reason")
	before := time.Now()
	if _, err := sl.SlashCommand(slackfake.SlashCommand{TeamID: teamID, UserID: userID, ChannelID: channelID, Text: `on dark-mode production --reason "before the move"`}); err != nil {
		t.Fatal(err)
	}
	if _, err := sl.WaitCall(waitCtx(t), "chat.postMessage", func(c slackfake.Call) bool { return c.At.After(before) }); err != nil {
		t.Fatalf("the change request was not posted: %v", err)
	}

	// The workspace is now in the org: every payload names it.
	wantContains(t, "status in the org", string(b.commandIn(t, teamID, gridID, userID, "status").Body), "flagbot-writer")
	const wantReason = "This workspace asks for a reason with every change. Add one: `/flag off new-checkout production --reason \"...\"`."
	if r := b.commandIn(t, teamID, gridID, userID, "off new-checkout production"); r.Text != wantReason {
		t.Errorf("change without a reason in the org answered %q, want %q (the policy was lost)", r.Text, wantReason)
	}
	wantContains(t, "pending in the org", string(b.commandIn(t, teamID, gridID, userID, "pending").Body), "wants to turn on `dark-mode` in *production*")
	wantContains(t, "admin in the org", string(b.commandIn(t, teamID, gridID, adminID, "config require-reason off").Body), "reason")

	st, err := redisstore.Open(t.Context(), rs.url(), nil, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for key, want := range map[string]bool{
		redisstore.WorkspaceKey(teamID, gridID, "connection"): true,
		redisstore.WorkspaceKey(teamID, "", "connection"):     false,
		redisstore.WorkspaceKey(teamID, gridID, "policy"):     true,
		redisstore.WorkspaceKey(teamID, "", "policy"):         false,
	} {
		_, err := st.Get(t.Context(), key)
		if got := err == nil; got != want || (err != nil && !errors.Is(err, redisstore.ErrNotFound)) {
			t.Errorf("%s exists = %v (%v), want %v", key, got, err, want)
		}
	}
	b.assertNoSecrets(t)
}

// gridDirectory makes adminID an admin, names users by ID, and has no
// groups.
type gridDirectory struct{}

func (gridDirectory) IsAdmin(_ context.Context, a commands.Actor) (bool, error) {
	return a.UserID == adminID, nil
}
func (gridDirectory) DisplayName(_ context.Context, id string) (string, error) { return id, nil }
func (gridDirectory) GroupMembers(context.Context, string) ([]string, error) {
	return nil, errors.New("no groups")
}

// TestGridChangeDecidedAfterTheMove: a change requested before the
// workspace joined an org is approved, applied and listed from inside the
// org, with the stores run wires, on a real Redis.
func TestGridChangeDecidedAfterTheMove(t *testing.T) {
	store := redistest.NewRealTestStore(t)
	lds := newLD(t)
	k, err := tokenstore.ParseKey(testKeyB64)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := tokenstore.NewKeyring(tokenstore.KeyID(k), map[string]secret.Secret{tokenstore.KeyID(k): k})
	if err != nil {
		t.Fatal(err)
	}
	tokens := tokenstore.New(store, ring, func(err error) bool { return errors.Is(err, redisstore.ErrNotFound) }, tokenstore.Options{})
	client, err := ld.NewClient(lds.URL(), ld.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(client.WithToken(tok)) }
	exec := commands.NewExecutor(tokens, clients, gridDirectory{}, approvals.NewGridChanges(approvals.NewChanges(store, approvals.ChangesOptions{})),
		approvals.NewPolicies(store), nil, commands.Options{BaseURL: lds.URL()})

	ctx := t.Context()
	old := commands.Workspace{TeamID: teamID}
	org := commands.Workspace{TeamID: teamID, EnterpriseID: gridID}
	if _, err := exec.Connect(ctx, commands.Actor{Workspace: old, UserID: adminID}, commands.ConnectInput{Token: writerToken, Project: "web"}); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	req, err := exec.RequestChange(ctx, commands.Actor{Workspace: old, UserID: userID}, channelID, commands.On{Flag: "dark-mode", Env: "production"}, "k1")
	if err != nil {
		t.Fatalf("RequestChange: %v", err)
	}

	res, err := exec.Approve(ctx, commands.Actor{Workspace: org, UserID: adminID}, req.Change.ID)
	if err != nil {
		t.Fatalf("Approve from the org: %v", err)
	}
	if res.Change.Status != commands.StatusApplied {
		t.Fatalf("change status after approval = %s (%s), want applied", res.Change.Status, res.Change.Outcome)
	}
	if f, ok := lds.Flag("web", "dark-mode"); !ok || !f.Environments["production"].On {
		t.Errorf("dark-mode is not on in production after the approval")
	}
	hist, err := exec.Execute(ctx, commands.Actor{Workspace: org, UserID: userID}, commands.History{})
	if err != nil {
		t.Fatal(err)
	}
	if h := hist.(commands.HistoryResult); len(h.Changes) != 1 || h.Changes[0].ID != req.Change.ID {
		t.Errorf("history in the org = %+v, want the change", h.Changes)
	}
	// Another workspace of the same org cannot see it.
	other := commands.Actor{Workspace: commands.Workspace{TeamID: otherTeamID, EnterpriseID: gridID}, UserID: adminID}
	if _, err := exec.Change(ctx, other, req.Change.ID); commands.KindOf(err) != commands.KindNotFound {
		t.Errorf("another workspace of the org read the change: %v", err)
	}
}
