package slackapp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
	"github.com/flagbot/flagbot/internal/slackfake"
)

func digestEntries(n int, t0 time.Time) []commands.AuditEntry {
	envs := []string{"production", "staging", "*"}
	out := make([]commands.AuditEntry, n)
	for i := range out {
		comment := ""
		switch i % 4 {
		case 0:
			comment = fmt.Sprintf("Requested by Ana Silva (U01), approved by Bo <b> (U02) via Flagbot; reason: ticket %d & more; request r%d", i, i)
		case 1:
			comment = "manual fix *now* <!channel>"
		}
		out[i] = commands.AuditEntry{
			ID: fmt.Sprintf("e%04d", i), Date: t0.Add(time.Duration(i) * time.Minute),
			Name: fmt.Sprintf("Flag <%d>", i%30), TitleVerb: []string{"turned on the flag", "updated the rules"}[i%2], Comment: comment,
			Member:   &commands.Member{FirstName: fmt.Sprintf("Person%d", i%7)},
			Accesses: []commands.Access{{Action: []string{"updateOn", "updateRules"}[i%2], Resource: fmt.Sprintf("proj/web:env/%s:flag/flag-%02d", envs[i%3], i%30)}},
		}
	}
	return out
}

func buildDigest(n int) digest.Digest {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	entries := digestEntries(n, t0)
	return digest.Build(entries, digest.Window{
		SubscriptionID: "abc123", Filter: commands.DigestFilter{Project: "web", Envs: []string{"production", "staging"}},
		From: t0, To: t0.Add(24 * time.Hour), Location: berlin, BaseURL: baseURL, Changes: flagbotChanges(entries),
	})
}

// flagbotChanges returns the change store's record of every request the
// entries' Flagbot comments name, as Flagbot would have stored it.
func flagbotChanges(entries []commands.AuditEntry) map[string]commands.Change {
	out := map[string]commands.Change{}
	for _, e := range entries {
		a, ok := digest.ParseFlagbotComment(e.Comment)
		if !ok {
			continue
		}
		res := e.Accesses[0].Resource // proj/web:env/<env>:flag/<flag>
		env := strings.TrimPrefix(strings.Split(res, ":")[1], "env/")
		if env == "*" {
			env = ""
		}
		out[a.RequestID] = commands.Change{
			ID: a.RequestID, RequesterID: a.RequesterID, Project: "web", Env: env, Flag: strings.TrimPrefix(strings.Split(res, ":")[2], "flag/"),
			Reason: a.Reason, Status: commands.StatusApplied, Approvals: []commands.Approval{{UserID: a.ApproverIDs[0], At: e.Date}}, DecidedAt: e.Date.Add(time.Second),
		}
	}
	return out
}

func TestRenderDigestGolden(t *testing.T) {
	t.Parallel()
	golden(t, "digest_small", RenderDigest(buildDigest(6)))
	empty := buildDigest(0)
	golden(t, "digest_empty", RenderDigest(empty))
	capped := buildDigest(2)
	capped.Capped, capped.CappedFrom, capped.Truncated = true, capped.From.Add(-10*24*time.Hour), true
	golden(t, "digest_capped", RenderDigest(capped))
	// The same changes, with no Flagbot request behind their "via Flagbot"
	// comments: none is labelled, and the highlights say so.
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	golden(t, "digest_unverified", RenderDigest(digest.Build(digestEntries(6, t0), digest.Window{
		SubscriptionID: "abc123", Filter: commands.DigestFilter{Project: "web", Envs: []string{"production", "staging"}},
		From: t0, To: t0.Add(24 * time.Hour), Location: berlin, BaseURL: baseURL,
	})))
}

// messageText is the text of every header, section and context block.
func messageText(m Message) string {
	var b strings.Builder
	for _, bl := range m.Blocks {
		switch bl := bl.(type) {
		case *slack.HeaderBlock:
			b.WriteString(bl.Text.Text + "\n")
		case *slack.SectionBlock:
			b.WriteString(bl.Text.Text + "\n")
		case *slack.ContextBlock:
			for _, e := range bl.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					b.WriteString(t.Text + "\n")
				}
			}
		}
	}
	return b.String()
}

func TestRenderDigestWithinLimits(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 30, 200, 5000} {
		d := buildDigest(n)
		m := RenderDigest(d)
		if err := CheckLimits(m.Blocks); err != nil {
			t.Fatalf("%d entries: %v", n, err)
		}
		text := messageText(m)
		for _, bad := range []string{"<!channel>", "<b>", "Flag <"} {
			if strings.Contains(text, bad) {
				t.Errorf("%d entries: unescaped %q in the message", n, bad)
			}
		}
		listed := strings.Count(text, "\n• ")
		if listed > maxDigestLines || listed == 0 {
			t.Errorf("%d entries: %d changes listed", n, listed)
		}
		// Every change is either listed or counted in the overflow line.
		more := 0
		if i := strings.LastIndex(text, "\n…and "); i >= 0 && strings.Contains(text[i:], "audit log") {
			fmt.Sscanf(text[i+len("\n…and "):], "%d", &more)
		}
		if listed+more != d.Total {
			t.Errorf("%d entries: %d listed + %d more != %d", n, listed, more, d.Total)
		}
		if more > 0 && !strings.Contains(text, "<"+baseURL+"/settings/history|LaunchDarkly's audit log>") {
			t.Errorf("%d entries: overflow has no link to the audit log", n)
		}
	}
}

func TestRenderDigestResults(t *testing.T) {
	t.Parallel()
	for _, tt := range digestResultCases() {
		t.Run(tt.name, func(t *testing.T) {
			m := renderResult(tt.in)
			checkMessage(t, m)
			golden(t, tt.name, m)
		})
	}
}

// digestResultCases are the golden cases of `/flag digest` results.
func digestResultCases() []renderCase {
	sub := commands.DigestSubscription{
		ID: "abc123", ChannelID: "C0REL", Schedule: commands.DigestSchedule{Frequency: commands.DigestWeekly, Weekday: time.Monday, Hour: 8, Minute: 30, TZ: "Europe/Berlin"},
		Filter: commands.DigestFilter{Project: "web", Envs: []string{"production"}}, NextRun: when, PostEmpty: true,
	}
	evil := sub
	evil.ChannelID, evil.ChannelName = "<!here>", "x<y *z*"
	return []renderCase{
		{"digest_subscribed", commands.DigestSubscribedResult{Subscription: sub}},
		{"digest_list", commands.DigestListResult{Subscriptions: []commands.DigestSubscription{sub}}},
		{"digest_list_empty", commands.DigestListResult{}},
		{"digest_list_hidden", commands.DigestListResult{Subscriptions: []commands.DigestSubscription{sub}, Hidden: 2}},
		{"digest_list_hidden_admin", commands.DigestListResult{Hidden: 1, HiddenIDs: []string{"x9z8"}}},
		{"digest_unsubscribed", commands.DigestUnsubscribedResult{Subscription: sub}},
		{"digest_unsubscribed_escaped", commands.DigestUnsubscribedResult{Subscription: evil}},
		{"digest_now", commands.DigestNowResult{Run: commands.DigestRun{Subscription: sub, Changes: 3, From: when}}},
	}
}

// testWS is the workspace the digest poster's tests post for.
var testWS = commands.Workspace{TeamID: slackfake.TeamID}

func newDigestSlack(t *testing.T) (*DigestSlack, *slackfake.Server) {
	t.Helper()
	sl := slackfake.New(t, slackfake.Options{})
	return NewDigestSlack(NewClients(SingleWorkspace(slackfake.DefaultBotToken), Options{APIURL: sl.APIURL()}), Options{}), sl
}

// fakeClock is a clock whose Sleep returns at once, moving the time on and
// recording how long it was asked to wait.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return ctx.Err()
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

func TestDigestSlackChannel(t *testing.T) {
	t.Parallel()
	ds, sl := newDigestSlack(t)
	ctx := t.Context()
	sl.SetChannel(slackfake.Channel{ID: "G0SECRET", Name: "secret", Private: true, Members: []string{"U1", slackfake.BotUserID}})
	sl.SetChannel(slackfake.Channel{ID: "G0HIDDEN", Name: "hidden", Private: true, Members: []string{"U1"}, BotAbsent: true})
	sl.SetChannel(slackfake.Channel{ID: "C0LEFT", Name: "left", Members: []string{"U1"}, BotAbsent: true})
	sl.SetChannel(slackfake.Channel{ID: "C0OLD", Name: "old", Archived: true, Members: []string{slackfake.BotUserID}})
	tests := []struct {
		id      string
		want    commands.DigestChannel
		wantErr error
	}{
		{id: "C0REL", want: commands.DigestChannel{ID: "C0REL", Name: "channel-c0rel", Postable: true}},
		{id: "G0SECRET", want: commands.DigestChannel{ID: "G0SECRET", Name: "secret", Private: true, Postable: true}},
		{id: "C0LEFT", want: commands.DigestChannel{ID: "C0LEFT", Name: "left"}},
		{id: "C0OLD", want: commands.DigestChannel{ID: "C0OLD", Name: "old"}},
		{id: "G0HIDDEN", wantErr: commands.ErrCannotPost},
	}
	for _, tt := range tests {
		got, err := ds.Channel(ctx, testWS, tt.id)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("Channel(%s) = %+v, %v; want %+v, %v", tt.id, got, err, tt.want, tt.wantErr)
		}
	}
	for _, code := range []string{"channel_not_found", "not_in_channel"} {
		sl.FailNext("conversations.info", 1, code)
		if _, err := ds.Channel(ctx, testWS, "C0PRIV"); !errors.Is(err, commands.ErrCannotPost) {
			t.Errorf("%s: %v, want ErrCannotPost", code, err)
		}
	}
	sl.FailNext("conversations.info", 1, "internal_error")
	if _, err := ds.Channel(ctx, testWS, "C0REL"); err == nil || errors.Is(err, commands.ErrCannotPost) {
		t.Errorf("internal_error: %v, want a plain error", err)
	}
}

func TestDigestSlackMemberOf(t *testing.T) {
	t.Parallel()
	ds, sl := newDigestSlack(t)
	many := []string{slackfake.BotUserID}
	for i := range 2500 {
		many = append(many, fmt.Sprintf("U%04d", i))
	}
	sl.SetChannel(slackfake.Channel{ID: "G0BIG", Name: "big", Private: true, Members: many})
	sl.SetChannel(slackfake.Channel{ID: "G0HIDDEN", Name: "hidden", Private: true, Members: []string{"U0007"}, BotAbsent: true})
	got, err := ds.MemberOf(t.Context(), testWS, "U2499", []string{"G0BIG", "G0HIDDEN", "G0BIG"})
	if err != nil || !got["G0BIG"] || got["G0HIDDEN"] || len(got) != 2 {
		t.Fatalf("MemberOf(U2499) = %v, %v; want G0BIG only (its third page)", got, err)
	}
	if n := len(sl.Calls("conversations.members")); n != 4 {
		t.Errorf("%d conversations.members calls, want 4 (3 pages, 1 refused)", n)
	}
	got, err = ds.MemberOf(t.Context(), testWS, "U0007", []string{"G0HIDDEN"})
	if err != nil || got["G0HIDDEN"] {
		t.Errorf("MemberOf a channel Slack hides from the bot = %v, %v; want not a member", got, err)
	}
	sl.FailNext("conversations.members", 1, "internal_error")
	if _, err := ds.MemberOf(t.Context(), testWS, "U0007", []string{"G0BIG"}); err == nil {
		t.Error("MemberOf succeeded while Slack failed")
	}
}

func TestDigestSlackFindDigest(t *testing.T) {
	t.Parallel()
	sl := slackfake.New(t, slackfake.Options{})
	clock := &fakeClock{now: when} // one post a second per channel, at once
	ds := NewDigestSlack(NewClients(SingleWorkspace(slackfake.DefaultBotToken), Options{APIURL: sl.APIURL()}), Options{Now: clock.Now, Sleep: clock.Sleep})
	ctx := t.Context()
	d := buildDigest(1)
	d.RunID = "run1"
	ts, err := ds.PostDigest(ctx, testWS, "C0REL", d)
	if err != nil || ts == "" {
		t.Fatalf("PostDigest = %q, %v", ts, err)
	}
	msgs := sl.Messages("C0REL", "")
	if len(msgs) != 1 || string(msgs[0].Metadata) != `{"event_type":"flagbot_digest","event_payload":{"from":1795683600000,"run":"run1","subscription":"abc123","to":1795770000000}}` {
		t.Fatalf("posted %d messages, the first with metadata %s", len(msgs), msgs[0].Metadata)
	}
	// Other messages pile up after it.
	for i := range 450 {
		d := buildDigest(0)
		d.RunID = fmt.Sprintf("other%d", i)
		if _, err := ds.PostDigest(ctx, testWS, "C0REL", d); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, id, run, after string
		found                bool
	}{
		{"the post, three pages back", "abc123", "run1", "", true},
		{"the post, after the one before it", "abc123", "run1", "1600000000.000000", true},
		{"another run", "abc123", "run2", "", false},
		{"another subscription's run", "xyz", "run1", "", false},
		{"only after it", "abc123", "run1", ts, false},
	}
	for _, tt := range tests {
		got, found, err := ds.FindDigest(ctx, testWS, "C0REL", tt.id, tt.run, tt.after)
		if err != nil || found != tt.found || (found && got != ts) {
			t.Errorf("%s: FindDigest = %q, %v, %v; want found %v (ts %s)", tt.name, got, found, err, tt.found, ts)
		}
	}
	sl.SetChannel(slackfake.Channel{ID: "C0LEFT", Name: "left", Members: []string{"U1"}, BotAbsent: true})
	if _, _, err := ds.FindDigest(ctx, testWS, "C0LEFT", "abc123", "run1", ""); !errors.Is(err, commands.ErrCannotPost) {
		t.Errorf("FindDigest in a channel the bot left: %v, want ErrCannotPost", err)
	}
	sl.FailNext("conversations.history", 1, "internal_error")
	if _, _, err := ds.FindDigest(ctx, testWS, "C0REL", "abc123", "run1", ""); err == nil || errors.Is(err, commands.ErrCannotPost) {
		t.Errorf("FindDigest while Slack fails: %v, want a plain error", err)
	}
}

func TestDigestSlackPostRetriesAfter429(t *testing.T) {
	t.Parallel()
	sl := slackfake.New(t, slackfake.Options{})
	clock := &fakeClock{now: when}
	ds := NewDigestSlack(NewClients(SingleWorkspace(slackfake.DefaultBotToken), Options{APIURL: sl.APIURL()}), Options{Now: clock.Now, Sleep: clock.Sleep})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sl.FailNext("chat.postMessage", 1, "ratelimited")
	if _, err := ds.PostDigest(ctx, testWS, "C0REL", buildDigest(3)); err != nil {
		t.Fatal(err)
	}
	if got, want := clock.Slept(), []time.Duration{time.Second}; !slices.Equal(got, want) {
		t.Errorf("waited %v before the retry, want %v (Retry-After: 1)", got, want)
	}
	calls := sl.Calls("chat.postMessage")
	if len(calls) != 2 || calls[0].Error != "ratelimited" || calls[1].Error != "" {
		t.Fatalf("calls = %+v", calls)
	}
	if !strings.Contains(calls[1].Params["text"], "LaunchDarkly digest: 3 changes") {
		t.Errorf("text = %q", calls[1].Params["text"])
	}
	// Paced: a second digest in the same channel waits a second; another
	// channel does not wait.
	if _, err := ds.PostDigest(ctx, testWS, "C0REL", buildDigest(1)); err != nil {
		t.Fatal(err)
	}
	if got, want := clock.Slept(), []time.Duration{time.Second, time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v: one message a second per channel", got, want)
	}
	if _, err := ds.PostDigest(ctx, testWS, "C0ELSE", buildDigest(1)); err != nil {
		t.Fatal(err)
	}
	if n := len(clock.Slept()); n != 2 {
		t.Errorf("a post in another channel waited: %v", clock.Slept())
	}
	// Slack still rate-limiting after all attempts: an error, so the
	// scheduler retries on its next tick.
	sl.FailNext("chat.postMessage", digestPostAttempts, "ratelimited")
	if _, err := ds.PostDigest(ctx, testWS, "C0OTHER", buildDigest(1)); err == nil {
		t.Error("PostDigest succeeded while Slack kept answering 429")
	}
	sl.FailNext("chat.postMessage", 1, "not_in_channel")
	if _, err := ds.PostDigest(ctx, testWS, "C0GONE", buildDigest(1)); !errors.Is(err, commands.ErrCannotPost) {
		t.Errorf("not_in_channel: %v, want ErrCannotPost", err)
	}
}

// BenchmarkRenderDigest5000 measures rendering a digest built from 5,000
// audit entries:
//
//	go test -run '^$' -bench RenderDigest5000 -benchmem ./internal/slackapp/
func BenchmarkRenderDigest5000(b *testing.B) {
	d := buildDigest(5000)
	b.ReportAllocs()
	for b.Loop() {
		if m := RenderDigest(d); len(m.Blocks) == 0 {
			b.Fatal("no blocks")
		}
	}
}

func TestRenderDigestLongChangesCounted(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	long := strings.Repeat("deploy & verify <step> ", 12) // ~280 runes, more once escaped
	cases := map[string]func(i int) commands.AuditEntry{
		"long comments": func(i int) commands.AuditEntry {
			return commands.AuditEntry{ID: fmt.Sprintf("e%02d", i), Date: t0.Add(time.Duration(i) * time.Minute),
				TitleVerb: strings.Repeat("updated the rules ", 8), Comment: long,
				Member:   &commands.Member{FirstName: "Ana"},
				Accesses: []commands.Access{{Action: "updateRules", Resource: fmt.Sprintf("proj/web:env/%s:flag/one-flag", []string{"production", "staging"}[i%2])}}}
		},
		"one huge change": func(i int) commands.AuditEntry {
			return commands.AuditEntry{ID: fmt.Sprintf("e%02d", i), Date: t0.Add(time.Duration(i) * time.Minute),
				Member:   &commands.Member{FirstName: strings.Repeat("<Ana> ", 600)},
				Accesses: []commands.Access{{Action: "updateRules", Resource: "proj/web:env/production:flag/one-flag"}}}
		},
	}
	for name, entry := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var entries []commands.AuditEntry
			for i := range 14 {
				entries = append(entries, entry(i))
			}
			d := digest.Build(entries, digest.Window{Filter: commands.DigestFilter{Project: "web"}, From: t0, To: t0.Add(24 * time.Hour), BaseURL: baseURL})
			m := RenderDigest(d)
			if err := CheckLimits(m.Blocks); err != nil {
				t.Fatal(err)
			}
			text := messageText(m)
			listed := strings.Count(text, "\n• ")
			more := 0
			if i := strings.Index(text, "\n…and "); i >= 0 {
				fmt.Sscanf(text[i+len("\n…and "):], "%d", &more)
			}
			if listed == 0 || listed+more != d.Total {
				t.Errorf("%d listed + %d counted as more != %d changes; some were cut off uncounted", listed, more, d.Total)
			}
		})
	}
}
