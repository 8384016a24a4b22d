package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// fakeExec is a function-field Executor: a nil field fails the call.
type fakeExec struct {
	mu      sync.Mutex
	actors  []commands.Actor
	execute func(commands.Actor, commands.Command) (commands.Result, error)
	approve func(commands.Actor, string) (commands.ChangeResult, error)
	check   func(commands.Actor, string, string) error
	withKey func(commands.Actor, string, string) (commands.ChangeResult, error)
	change  func(commands.Actor, string, commands.Command) (commands.ChangeResult, error)
}

var errUnplanned = errors.New("unplanned call")

func (f *fakeExec) saw(a commands.Actor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actors = append(f.actors, a)
}

func (f *fakeExec) seen() []commands.Actor {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]commands.Actor(nil), f.actors...)
}

func (f *fakeExec) Execute(_ context.Context, a commands.Actor, cmd commands.Command) (commands.Result, error) {
	f.saw(a)
	if f.execute == nil {
		return nil, errUnplanned
	}
	return f.execute(a, cmd)
}

func (f *fakeExec) Connect(context.Context, commands.Actor, commands.ConnectInput) (commands.ConnectResult, error) {
	return commands.ConnectResult{}, errUnplanned
}

func (f *fakeExec) ConnectChoices(_ context.Context, a commands.Actor, _ commands.ConnectInput) (commands.ConnectModal, error) {
	f.saw(a)
	return commands.ConnectModal{}, errUnplanned
}

func (f *fakeExec) SuggestFlags(_ context.Context, a commands.Actor, _, _ string) (commands.FlagSuggestions, error) {
	f.saw(a)
	return commands.FlagSuggestions{}, errUnplanned
}

func (f *fakeExec) FlagLink(raw string) (commands.FlagLink, bool) {
	return commands.ParseFlagLink("https://app.launchdarkly.com", raw)
}

func (f *fakeExec) Home(_ context.Context, a commands.Actor) commands.HomeResult {
	f.saw(a)
	return commands.HomeResult{UserID: a.UserID, Outsider: a.Outsider}
}

func (f *fakeExec) Homes(_ context.Context, _ commands.Workspace, as []commands.Actor) []commands.HomeResult {
	out := make([]commands.HomeResult, len(as))
	for i, a := range as {
		f.saw(a)
		out[i] = commands.HomeResult{UserID: a.UserID, Outsider: a.Outsider}
	}
	return out
}

func (f *fakeExec) RequestChange(_ context.Context, a commands.Actor, channel string, cmd commands.Command, _ string) (commands.ChangeResult, error) {
	f.saw(a)
	if f.change == nil {
		return commands.ChangeResult{}, errUnplanned
	}
	return f.change(a, channel, cmd)
}

func (f *fakeExec) Approve(_ context.Context, a commands.Actor, id string) (commands.ChangeResult, error) {
	f.saw(a)
	if f.approve == nil {
		return commands.ChangeResult{}, errUnplanned
	}
	return f.approve(a, id)
}

func (f *fakeExec) ApproveWithKey(_ context.Context, a commands.Actor, id, key string) (commands.ChangeResult, error) {
	f.saw(a)
	if f.withKey == nil {
		return commands.ChangeResult{}, errUnplanned
	}
	return f.withKey(a, id, key)
}

func (f *fakeExec) CheckConfirmation(_ context.Context, a commands.Actor, id, key string) error {
	f.saw(a)
	if f.check == nil {
		return errUnplanned
	}
	return f.check(a, id, key)
}

func (f *fakeExec) Reject(context.Context, commands.Actor, string) (commands.ChangeResult, error) {
	return commands.ChangeResult{}, errUnplanned
}

func (f *fakeExec) Cancel(context.Context, commands.Actor, string) (commands.ChangeResult, error) {
	return commands.ChangeResult{}, errUnplanned
}

func (f *fakeExec) Change(context.Context, commands.Actor, string) (commands.Change, error) {
	return commands.Change{}, errUnplanned
}

func (f *fakeExec) ResumeApproved(context.Context, commands.Change) (commands.ChangeResult, error) {
	return commands.ChangeResult{}, errUnplanned
}

func (f *fakeExec) RequestUndo(context.Context, commands.Actor, string, string) (commands.Result, error) {
	return nil, errUnplanned
}

func (f *fakeExec) SignOff(context.Context, commands.Actor, string) (commands.ChangeResult, error) {
	return commands.ChangeResult{}, errUnplanned
}

func (f *fakeExec) CancelSchedule(context.Context, commands.Actor, string) (commands.ChangeResult, error) {
	return commands.ChangeResult{}, errUnplanned
}

func (f *fakeExec) ApplyScheduled(context.Context, commands.Change) (commands.ChangeResult, error) {
	return commands.ChangeResult{}, errUnplanned
}

func (f *fakeExec) Refresh(context.Context, commands.Workspace, string) (commands.ChangeResult, error) {
	return commands.ChangeResult{}, errUnplanned
}

func (f *fakeExec) ApproverDMs(context.Context, commands.Change) ([]string, error) { return nil, nil }

func (f *fakeExec) SignoffDMs(context.Context, commands.Change) ([]string, error) { return nil, nil }

func (f *fakeExec) RecordDMs(context.Context, commands.Workspace, string, []commands.PostRef) error {
	return nil
}

func (f *fakeExec) RecordPost(context.Context, commands.Workspace, string, string, string) error {
	return nil
}

// startApp runs an App with exec against a fake Slack through the real
// socketmode client and router, and returns the fake. The App uses the
// fake's users.info (through Directory) to tell outsiders.
func startApp(t *testing.T, exec Executor) *slackfake.Server {
	t.Helper()
	sl := slackfake.New(t, slackfake.Options{})
	sl.SetUser(slackfake.User{ID: "UANA", Name: "ana"})
	sl.SetUser(slackfake.User{ID: "UBO", Name: "bo"})
	sl.SetUser(slackfake.User{ID: "UPAT", TeamID: "T0PARTNER", Name: "pat"})
	opts := Options{APIURL: sl.APIURL(), CommandTimeout: 5 * time.Second}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	clients := NewClients(SingleWorkspace(slackfake.DefaultBotToken), opts)
	app, err := New(slackfake.DefaultAppToken, clients, exec, NewDirectory(clients, nil), nil, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return sl
}

func waitFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// reply waits for the response_url reply sent after since and returns its
// text.
func reply(t *testing.T, sl *slackfake.Server, since time.Time) string {
	t.Helper()
	r, err := sl.WaitResponse(waitFor(t), func(r slackfake.Response) bool { return r.At.After(since) })
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	var m struct{ Text string }
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m.Text
}

// TestSlashCommandThroughDispatch: a /flag envelope is acked empty, parsed,
// run as the actor the envelope names (with its delivery key), and answered
// on its response_url with the rendered result.
func TestSlashCommandThroughDispatch(t *testing.T) {
	t.Parallel()
	exec := &fakeExec{execute: func(a commands.Actor, cmd commands.Command) (commands.Result, error) {
		if cmd.Name() != "status" {
			return nil, errUnplanned
		}
		return commands.StatusResult{}, nil
	}}
	sl := startApp(t, exec)
	since := time.Now()
	id, err := sl.SlashCommand(slackfake.SlashCommand{UserID: "UANA", ChannelID: "C1", Text: "status"})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := sl.WaitAck(waitFor(t), id)
	if err != nil || ack.Payload != nil {
		t.Fatalf("ack = %+v, %v; want an empty ack", ack, err)
	}
	if got, want := reply(t, sl, since), "This workspace is not connected to LaunchDarkly yet. An admin can run `/flag connect`."; got != want {
		t.Errorf("reply = %q, want %q", got, want)
	}
	actors := exec.seen()
	if len(actors) != 1 || actors[0].UserID != "UANA" || actors[0].TeamID != slackfake.TeamID || actors[0].ChannelID != "C1" ||
		actors[0].Outsider || len(actors[0].RequestKey) < len("slash:x") {
		t.Errorf("actor = %+v", actors)
	}
	// Socket Mode's hello carries no envelope id and is never acked.
	for _, a := range sl.Acks() {
		if a.EnvelopeID == "" {
			t.Errorf("an envelope without an id was acked: %+v", a)
		}
	}
}

// TestOutsiderFlagReachesTheCore: a slash command from a user of another
// organisation (users.info says so) reaches the core marked as an outsider,
// and the core's refusal is what the user reads.
func TestOutsiderFlagReachesTheCore(t *testing.T) {
	t.Parallel()
	exec := &fakeExec{execute: func(a commands.Actor, cmd commands.Command) (commands.Result, error) {
		if a.Outsider {
			return nil, &commands.Error{Kind: commands.KindOutsider}
		}
		return commands.StatusResult{}, nil
	}}
	sl := startApp(t, exec)
	since := time.Now()
	if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: "UPAT", ChannelID: "C1", Text: "status"}); err != nil {
		t.Fatal(err)
	}
	if got, want := reply(t, sl, since), "Flagbot acts for the workspace that installed it, so people from other organisations can't use it."; got != want {
		t.Errorf("reply = %q, want %q", got, want)
	}
	if a := exec.seen(); len(a) != 1 || !a[0].Outsider {
		t.Errorf("actors = %+v, want one outsider", a)
	}
}

// TestApproveDeletionAsksForTheKey: the core answers an Approve of a
// deletion with KindConfirm; the transport opens the confirmation modal,
// answers a wrong key inline in the view_submission ack, and approves with
// the key once it is right.
func TestApproveDeletionAsksForTheKey(t *testing.T) {
	t.Parallel()
	del := commands.Change{ID: "c1", Kind: commands.ChangeDelete, Project: "web", Flag: "old-banner", Delete: true, Status: commands.StatusPending, RequesterID: "UANA"}
	approved := make(chan string, 1)
	exec := &fakeExec{
		approve: func(commands.Actor, string) (commands.ChangeResult, error) {
			return commands.ChangeResult{Change: del}, commands.Errorf(commands.KindConfirm, "type its key")
		},
		check: func(_ commands.Actor, id, key string) error {
			if key != "old-banner" {
				return &commands.FieldError{Field: commands.FieldConfirmKey, Msg: commands.Textf("Type %s exactly to delete it.", "old-banner")}
			}
			return nil
		},
		withKey: func(_ commands.Actor, id, key string) (commands.ChangeResult, error) {
			approved <- key
			c := del
			c.Status = commands.StatusApplied
			return commands.ChangeResult{Change: c, ApprovedNow: true}, nil
		},
	}
	sl := startApp(t, exec)
	since := time.Now()
	if _, err := sl.BlockAction(slackfake.BlockAction{UserID: "UBO", ChannelID: "C1", ActionID: string(ActionApproveDelete), Value: "c1", MessageTS: "1.1"}); err != nil {
		t.Fatal(err)
	}
	opened, err := sl.WaitCall(waitFor(t), "views.open", func(c slackfake.Call) bool { return c.At.After(since) })
	if err != nil {
		t.Fatalf("no confirmation modal: %v", err)
	}
	var view struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	}
	if err := json.Unmarshal([]byte(opened.Params["view"]), &view); err != nil || view.CallbackID != string(CallbackConfirmDelete) || view.PrivateMetadata != "c1|C1|1.1" {
		t.Fatalf("modal = %+v, %v", view, err)
	}
	submit := func(key string) slackfake.Ack {
		id, err := sl.ViewSubmission(slackfake.ViewSubmission{UserID: "UBO", CallbackID: view.CallbackID, PrivateMetadata: view.PrivateMetadata,
			Values: map[string]map[string]any{string(BlockConfirmKey): {string(ActionConfirmKey): map[string]any{"type": "plain_text_input", "value": key}}}})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := sl.WaitAck(waitFor(t), id)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	if ack := submit("old-banne"); string(ack.Payload) != `{"response_action":"errors","errors":{"confirm_key":"Type old-banner exactly to delete it."}}` {
		t.Errorf("wrong key ack = %s", ack.Payload)
	}
	select {
	case k := <-approved:
		t.Fatalf("approved with the wrong key %q", k)
	default:
	}
	if ack := submit("old-banner"); ack.Payload != nil {
		t.Errorf("right key ack = %s, want empty", ack.Payload)
	}
	select {
	case k := <-approved:
		if k != "old-banner" {
			t.Errorf("approved with key %q", k)
		}
	case <-waitFor(t).Done():
		t.Fatal("not approved after the right key")
	}
}

// TestRequestFormWhenLaunchDarklyIsSlow: a form LaunchDarkly is slow to
// fill opens as a loading view within the trigger's 3 s and becomes the
// form; a submission LaunchDarkly is slow to file is acked in time with a
// "filing" view that then says how it went. Nothing is lost.
func TestRequestFormWhenLaunchDarklyIsSlow(t *testing.T) {
	t.Parallel()
	exec := &fakeExec{
		execute: func(a commands.Actor, cmd commands.Command) (commands.Result, error) {
			if _, ok := cmd.(commands.Request); !ok {
				return nil, errUnplanned
			}
			time.Sleep(modalOpenBudget + 200*time.Millisecond)
			return commands.RequestModal{Project: "web", Envs: []commands.Environment{{Key: "production"}}, Env: "production", Action: commands.RequestOn}, nil
		},
		change: func(a commands.Actor, channel string, cmd commands.Command) (commands.ChangeResult, error) {
			if channel != "C1" || commands.CommandText(cmd.(commands.ChangeCommand), commands.Scope{}) != "on new-checkout production --project web" {
				return commands.ChangeResult{}, errUnplanned
			}
			time.Sleep(viewSubmissionBudget + 300*time.Millisecond)
			return commands.ChangeResult{Created: true, Change: commands.Change{ID: "c1", Kind: commands.ChangeOn, Project: "web", Env: "production",
				Flag: "new-checkout", RequesterID: a.UserID, Status: commands.StatusPending, RequiredApprovals: 1}}, nil
		},
	}
	sl := startApp(t, exec)
	if _, err := sl.SlashCommand(slackfake.SlashCommand{UserID: "UANA", ChannelID: "C1"}); err != nil {
		t.Fatal(err)
	}
	modal := func(callback string) slackfake.View {
		t.Helper()
		ctx := waitFor(t)
		for {
			if ms := sl.Modals("UANA"); len(ms) > 0 && ms[0].CallbackID == callback {
				return ms[0]
			}
			select {
			case <-ctx.Done():
				t.Fatalf("no %s modal; modals: %+v; views.open calls: %+v", callback, sl.Modals("UANA"), sl.Calls("views.open"))
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	loading := modal(string(CallbackRequestDone))
	form := modal(string(CallbackRequest))
	if form.ID != loading.ID {
		t.Errorf("the form opened as view %s, not in the loading view %s", form.ID, loading.ID)
	}

	since := time.Now()
	err := sl.SubmitView(waitFor(t), "UANA", form.ID, map[string]map[string]string{
		"req_flag": {"req_flag_pick": "new-checkout"}, "req_env": {"req_env_pick": "production"}, "req_action": {"req_action_pick": "on"},
	})
	if err != nil {
		t.Fatal(err)
	}
	filing := modal(string(CallbackRequestDone))
	if filing.Problem != "" || !strings.Contains(string(filing.JSON), "Filing your request") {
		t.Errorf("after a slow submission the modal is %s (problem %q)", filing.JSON, filing.Problem)
	}
	posted, err := sl.WaitCall(waitFor(t), "chat.postMessage", func(c slackfake.Call) bool { return c.At.After(since) })
	if err != nil || posted.Params["channel"] != "C1" {
		t.Fatalf("the request was not posted in C1: %+v, %v", posted, err)
	}
	ctx := waitFor(t)
	for ms := sl.Modals("UANA"); len(ms) == 0 || !strings.Contains(string(ms[0].JSON), "Your request is filed in"); ms = sl.Modals("UANA") {
		select {
		case <-ctx.Done():
			t.Fatalf("the modal never said the request was filed: %+v", ms)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
