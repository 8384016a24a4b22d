package commands

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDigest(t *testing.T) {
	t.Parallel()
	daily9 := DigestSchedule{Frequency: DigestDaily, Hour: 9, TZ: "UTC"}
	tests := []struct {
		in      string
		want    Command
		wantMsg string // a *UsageError containing this
	}{
		{in: "digest subscribe", want: DigestSubscribe{Schedule: daily9}},
		{in: "digests sub", want: DigestSubscribe{Schedule: daily9}},
		{in: "digest subscribe <#C0REL|releases>", want: DigestSubscribe{ChannelID: "C0REL", ChannelName: "releases", Schedule: daily9}},
		{in: "digest subscribe <#C0REL>", want: DigestSubscribe{ChannelID: "C0REL", Schedule: daily9}},
		{in: "digest subscribe #releases", wantMsg: "pick `#releases` from the list"},
		{in: "digest subscribe hourly", want: DigestSubscribe{Schedule: DigestSchedule{Frequency: DigestHourly, Hour: 9, TZ: "UTC"}}},
		{in: "digest subscribe daily 17:30 Europe/Berlin", want: DigestSubscribe{Schedule: DigestSchedule{Frequency: DigestDaily, Hour: 17, Minute: 30, TZ: "Europe/Berlin"}}},
		{in: "digest subscribe daily America/New_York 8:05", want: DigestSubscribe{Schedule: DigestSchedule{Frequency: DigestDaily, Hour: 8, Minute: 5, TZ: "America/New_York"}}},
		{in: "digest subscribe weekly", want: DigestSubscribe{Schedule: DigestSchedule{Frequency: DigestWeekly, Weekday: time.Monday, Hour: 9, TZ: "UTC"}}},
		{in: "digest subscribe <#C1|x> WEEKLY Fri 16:00 utc", want: DigestSubscribe{ChannelID: "C1", ChannelName: "x", Schedule: DigestSchedule{Frequency: DigestWeekly, Weekday: time.Friday, Hour: 16, TZ: "UTC"}}},
		{
			in: "digest subscribe --project web --env production,staging --flag new-checkout --tag beta --post-empty",
			want: DigestSubscribe{Schedule: daily9, PostEmpty: true,
				Filter: DigestFilter{Project: "web", Envs: []string{"production", "staging"}, Flag: "new-checkout", Tag: "beta"}},
		},
		{in: "digest subscribe --post-empty daily", want: DigestSubscribe{Schedule: daily9, PostEmpty: true}},
		{in: "digest subscribe daily 25:00", wantMsg: "I don't understand `25:00`"},
		{in: "digest subscribe daily Mars/Olympus", wantMsg: "I don't know the time zone `Mars/Olympus`"},
		{in: "digest subscribe daily mon", wantMsg: "A day only goes with `weekly`"},
		{in: "digest subscribe hourly 10:00", wantMsg: "takes no time"},
		{in: "digest subscribe daily 9:00 10:00", wantMsg: "Give the time once"},
		{in: "digest subscribe --env bad/env", wantMsg: "isn't a valid environment key"},
		{in: "digest subscribe --limit 3", wantMsg: "has no option `--limit`"},
		{in: "digest list", want: DigestList{}},
		{in: "digest ls", want: DigestList{}},
		{in: "digest list --project web", wantMsg: "goes with `digest subscribe` only"},
		{in: "digest list all", wantMsg: "takes no arguments"},
		{in: "digest unsubscribe abc123", want: DigestUnsubscribe{ID: "abc123"}},
		{in: "digest unsubscribe", wantMsg: "needs one subscription id"},
		{in: "digest unsubscribe a/b", wantMsg: "isn't a subscription id"},
		{in: "digest now", want: DigestNow{}},
		{in: "digest now abc123", want: DigestNow{ID: "abc123"}},
		{in: "digest now a b", wantMsg: "at most one"},
		{in: "digest", wantMsg: "needs a verb"},
		{in: "digest explode", wantMsg: "I don't know `digest explode`"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantMsg != "" {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(ue.Msg.String(), tt.wantMsg) || ue.Help.Name != "digest" {
					t.Fatalf("Parse(%q) = %#v, %v; want a digest usage error containing %q", tt.in, got, err, tt.wantMsg)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %#v, %v\nwant %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDigestHelp(t *testing.T) {
	t.Parallel()
	h, ok := LookupHelp("digests")
	if !ok || h.Name != "digest" {
		t.Fatalf("LookupHelp(digests) = %+v, %v", h, ok)
	}
	for _, ex := range h.Examples {
		if _, err := Parse(ex); err != nil {
			t.Errorf("help example %q does not parse: %v", ex, err)
		}
	}
	if got, _ := Parse("digest --help"); !reflect.DeepEqual(got, Help{Topic: "digest"}) {
		t.Errorf("digest --help = %#v", got)
	}
}

// memDigests is an in-memory Digests. Channels are public unless listed
// in private (with their members); hidden channels are not shown to the
// bot at all.
type memDigests struct {
	subs      map[string]DigestSubscription
	n         int
	cannot    bool  // Subscribe answers ErrCannotPost
	subErr    error // Subscribe's error otherwise
	runErr    error // RunNow's error
	slackErr  error // Channel's and MemberOf's error
	private   map[string][]string
	hidden    map[string]bool
	ran       []string
	subscribe []DigestSubscription
	asked     []string // Channel and MemberOf calls
}

func (m *memDigests) Channel(_ context.Context, _ Workspace, id string) (DigestChannel, error) {
	m.asked = append(m.asked, "info "+id)
	if m.slackErr != nil {
		return DigestChannel{}, m.slackErr
	}
	if m.hidden[id] || m.cannot {
		return DigestChannel{}, fmt.Errorf("slack: %w", ErrCannotPost)
	}
	_, private := m.private[id]
	return DigestChannel{ID: id, Name: "name-of-" + id, Private: private, Postable: true}, nil
}

func (m *memDigests) MemberOf(_ context.Context, _ Workspace, user string, ids []string) (map[string]bool, error) {
	m.asked = append(m.asked, "members "+strings.Join(ids, ","))
	if m.slackErr != nil {
		return nil, m.slackErr
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = slices.Contains(m.private[id], user)
	}
	return out, nil
}

func (m *memDigests) Get(_ context.Context, ws Workspace, id string) (DigestSubscription, error) {
	s, ok := m.subs[id]
	if !ok || s.Workspace != ws {
		return DigestSubscription{}, ErrDigestNotFound
	}
	return s, nil
}

func (m *memDigests) Subscribe(_ context.Context, s DigestSubscription) (DigestSubscription, error) {
	if m.cannot {
		return DigestSubscription{}, fmt.Errorf("slack: %w", ErrCannotPost)
	}
	if m.subErr != nil {
		return DigestSubscription{}, m.subErr
	}
	m.n++
	s.ID = fmt.Sprintf("d%d", m.n)
	s.NextRun = s.CreatedAt.Add(time.Hour)
	m.subs[s.ID] = s
	m.subscribe = append(m.subscribe, s)
	return s, nil
}

func (m *memDigests) List(_ context.Context, ws Workspace) ([]DigestSubscription, error) {
	var out []DigestSubscription
	for _, s := range m.subs {
		if s.Workspace == ws {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memDigests) Unsubscribe(_ context.Context, ws Workspace, id string) (DigestSubscription, error) {
	s, ok := m.subs[id]
	if !ok || s.Workspace != ws {
		return DigestSubscription{}, ErrDigestNotFound
	}
	delete(m.subs, id)
	return s, nil
}

func (m *memDigests) RunNow(_ context.Context, ws Workspace, id string) (DigestRun, error) {
	if m.runErr != nil {
		return DigestRun{}, m.runErr
	}
	s, ok := m.subs[id]
	if !ok || s.Workspace != ws {
		return DigestRun{}, ErrDigestNotFound
	}
	m.ran = append(m.ran, id)
	return DigestRun{Subscription: s, Changes: 2}, nil
}

func newDigestRig(t *testing.T) (*rig, *memDigests) {
	t.Helper()
	r := newRig(t)
	d := &memDigests{subs: map[string]DigestSubscription{}}
	r.exec = NewExecutor(r.ws, clientsFor(r.ld, &r.used), r.admins, nil, nil, d, Options{Now: func() time.Time { return t0 }})
	r.connect(t, wsA, "api-a", "web", "production")
	r.ld.ListEnvironmentsFn = func(_ context.Context, p string) ([]Environment, error) {
		if p != "web" {
			return nil, errNF
		}
		return []Environment{{Key: "production"}, {Key: "staging"}}, nil
	}
	return r, d
}

func TestExecuteDigestSubscribe(t *testing.T) {
	t.Parallel()
	r, d := newDigestRig(t)
	actor := alice
	actor.ChannelID = "C0HERE"
	res, err := r.exec.Execute(t.Context(), actor, DigestSubscribe{Schedule: DigestSchedule{Frequency: DigestDaily, Hour: 9, TZ: "UTC"}, Filter: DigestFilter{Envs: []string{"PRODUCTION"}}})
	if err != nil {
		t.Fatal(err)
	}
	sub := res.(DigestSubscribedResult).Subscription
	want := DigestSubscription{ID: "d1", Workspace: wsA, ChannelID: "C0HERE", Schedule: DigestSchedule{Frequency: DigestDaily, Hour: 9, TZ: "UTC"},
		Filter: DigestFilter{Project: "web", Envs: []string{"production"}}, CreatedBy: "UALICE", CreatedAt: t0, NextRun: t0.Add(time.Hour)}
	if !reflect.DeepEqual(sub, want) {
		t.Errorf("subscription = %+v\nwant %+v", sub, want)
	}

	_, err = r.exec.Execute(t.Context(), actor, DigestSubscribe{Filter: DigestFilter{Envs: []string{"prod"}}})
	if e := wantKind(t, err, KindNotFound); !strings.Contains(e.Msg.String(), "no environment `prod`") || !reflect.DeepEqual(e.Suggestions, []string{"production"}) {
		t.Errorf("unknown env: %+v", e)
	}
	_, err = r.exec.Execute(t.Context(), alice, DigestSubscribe{})
	wantKind(t, err, KindInvalid) // no channel known

	d.cannot = true
	_, err = r.exec.Execute(t.Context(), actor, DigestSubscribe{ChannelID: "C0PRIV", ChannelName: "secret"})
	if e := wantKind(t, err, KindInvalid); !strings.Contains(e.Msg.String(), "Invite @flagbot to #secret") {
		t.Errorf("cannot post: %q", e.Msg.String())
	}
	if len(d.subscribe) != 1 {
		t.Errorf("%d subscriptions stored", len(d.subscribe))
	}
	// Slack failing to answer conversations.info is not the store failing.
	d.cannot, d.subErr = false, errors.New("digest: check channel: slackapp: conversations.info C0X: missing_scope")
	_, err = r.exec.Execute(t.Context(), actor, DigestSubscribe{})
	if e := wantKind(t, err, KindUnavailable); !strings.Contains(e.Msg.String(), "try `/flag digest subscribe` again") {
		t.Errorf("subscribe failure: %q", e.Msg.String())
	}
}

func TestExecuteDigestListUnsubscribeNow(t *testing.T) {
	t.Parallel()
	r, d := newDigestRig(t)
	here := alice
	here.ChannelID = "C1"
	for _, ch := range []string{"C1", "C2", "C2"} {
		if _, err := r.exec.Execute(t.Context(), Actor{Workspace: wsA, UserID: "UALICE", ChannelID: ch}, DigestSubscribe{}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.exec.Execute(t.Context(), here, DigestList{})
	if err != nil || len(res.(DigestListResult).Subscriptions) != 3 {
		t.Fatalf("list = %+v, %v", res, err)
	}
	res, err = r.exec.Execute(t.Context(), here, DigestNow{})
	if err != nil || res.(DigestNowResult).Run.Subscription.ID != "d1" {
		t.Fatalf("now in C1 = %+v, %v", res, err)
	}
	_, err = r.exec.Execute(t.Context(), Actor{Workspace: wsA, ChannelID: "C2"}, DigestNow{})
	if e := wantKind(t, err, KindInvalid); !strings.Contains(e.Msg.String(), "`d2`, `d3`") {
		t.Errorf("ambiguous now: %q", e.Msg.String())
	}
	_, err = r.exec.Execute(t.Context(), Actor{Workspace: wsA, ChannelID: "C9"}, DigestNow{})
	wantKind(t, err, KindNotFound)
	d.runErr = ErrDigestBusy
	_, err = r.exec.Execute(t.Context(), here, DigestNow{ID: "d1"})
	wantKind(t, err, KindConflict)
	d.runErr = fmt.Errorf("fetch: %w", remoteErr(401, ""))
	_, err = r.exec.Execute(t.Context(), here, DigestNow{ID: "d1"})
	wantKind(t, err, KindUnauthorized)
	d.runErr = fmt.Errorf("post: %w", ErrCannotPost)
	_, err = r.exec.Execute(t.Context(), here, DigestNow{ID: "d1"})
	if e := wantKind(t, err, KindInvalid); !strings.Contains(e.Msg.String(), "/invite @flagbot") {
		t.Errorf("now in a channel the bot left: %q", e.Msg.String())
	}
	d.runErr = errors.New("slack down")
	_, err = r.exec.Execute(t.Context(), here, DigestNow{ID: "d1"})
	wantKind(t, err, KindUnavailable)

	if _, err := r.exec.Execute(t.Context(), here, DigestUnsubscribe{ID: "d2"}); err != nil {
		t.Fatal(err)
	}
	_, err = r.exec.Execute(t.Context(), here, DigestUnsubscribe{ID: "d2"})
	wantKind(t, err, KindNotFound)
	// Another workspace cannot touch these.
	r.connect(t, wsB, "api-b", "web", "")
	_, err = r.exec.Execute(t.Context(), carol, DigestUnsubscribe{ID: "d1"})
	wantKind(t, err, KindNotFound)
}

func TestExecuteDigestDisabledAndNotConnected(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.connect(t, wsA, "api-a", "web", "")
	_, err := r.exec.Execute(t.Context(), alice, DigestList{})
	wantKind(t, err, KindInvalid)
	r2, _ := newDigestRig(t)
	_, err = r2.exec.Execute(t.Context(), carol, DigestList{})
	wantKind(t, err, KindNotConnected)
}

// checkParsedDigest checks a parsed digest command for the fuzz and help
// tests (called from checkParsed); ok is false for any other command.
func checkParsedDigest(t *testing.T, in string, cmd Command) bool {
	t.Helper()
	switch c := cmd.(type) {
	case DigestSubscribe:
		s := c.Schedule
		if s.Hour < 0 || s.Hour > 23 || s.Minute < 0 || s.Minute > 59 || s.Weekday < time.Sunday || s.Weekday > time.Saturday {
			t.Fatalf("Parse(%q) = %#v, schedule out of range", in, c)
		}
		if _, err := time.LoadLocation(s.TZ); err != nil || s.TZ == "" || s.TZ == "Local" {
			t.Fatalf("Parse(%q) = %#v, bad time zone", in, c)
		}
		switch s.Frequency {
		case DigestHourly, DigestDaily, DigestWeekly:
		default:
			t.Fatalf("Parse(%q) = %#v, bad frequency", in, c)
		}
		for _, k := range append([]string{c.Filter.Project, c.Filter.Flag, c.Filter.Tag, c.ChannelID}, c.Filter.Envs...) {
			if k != "" && !validKey(k) {
				t.Fatalf("Parse(%q) = %#v, invalid key %q", in, c, k)
			}
		}
	case DigestList:
	case DigestUnsubscribe:
		if !validKey(c.ID) {
			t.Fatalf("Parse(%q) = %#v, invalid id", in, c)
		}
	case DigestNow:
		if c.ID != "" && !validKey(c.ID) {
			t.Fatalf("Parse(%q) = %#v, invalid id", in, c)
		}
	default:
		return false
	}
	return true
}

func TestParseDigestSubscribeHints(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"digest subscribe 25:00":                    "24-hour `HH:MM`",
		"digest subscribe daily 9am":                "24-hour `HH:MM`",
		"digest subscribe daily 9":                  "24-hour `HH:MM`",
		"digest subscribe daily 9:5":                "24-hour `HH:MM`",
		"digest subscribe monthly":                  "`hourly`, `daily` or `weekly`",
		"digest subscribe daily 09:00 CET":          "IANA name",
		"digest subscribe daily 09:00 Local":        "IANA name",
		"digest subscribe <#C1|one> <#C2|two>":      "give one channel",
		"digest subscribe daily <#C2|two>":          "give one channel",
		"digest subscribe daily 09:00 mumble":       "I don't understand `mumble`. Usage:",
		"digest subscribe weekly mon 08:30 Foo/Bar": "I don't know the time zone `Foo/Bar`",
	} {
		_, err := Parse(in)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(ue.Error(), want) {
			t.Errorf("Parse(%q) = %v, want a usage error saying %q", in, err, want)
		}
	}
}

// Who may do what with a digest: the subscriber and admins remove it or
// post it on demand; only members subscribe a private channel; the list
// shows what the caller may see.
func TestDigestPermissions(t *testing.T) {
	t.Parallel()
	dan := Actor{Workspace: wsA, UserID: "UDAN"} // neither subscriber nor admin
	in := func(a Actor, ch string) Actor { a.ChannelID = ch; return a }
	type step struct {
		name    string
		actor   Actor
		cmd     Command
		wantErr string // the refusal's exact text; "" for success
		kind    Kind
	}
	steps := []step{
		{name: "bob subscribes a public channel", actor: in(bob, "C0PUB"), cmd: DigestSubscribe{}},
		{name: "bob subscribes his private channel", actor: in(bob, "C0PUB"), cmd: DigestSubscribe{ChannelID: "G0BOB"}},
		{name: "dan may not subscribe a private channel he is not in", actor: in(dan, "C0PUB"), cmd: DigestSubscribe{ChannelID: "G0BOB", ChannelName: "bobs"}, kind: KindForbidden,
			wantErr: "<#G0BOB> is a private channel you are not in, so you can't subscribe it to digests. Ask one of its members to run `/flag digest subscribe` there."},
		{name: "nor can an admin who is not in it", actor: in(alice, "C0PUB"), cmd: DigestSubscribe{ChannelID: "G0BOB"}, kind: KindForbidden,
			wantErr: "<#G0BOB> is a private channel you are not in, so you can't subscribe it to digests. Ask one of its members to run `/flag digest subscribe` there."},
		{name: "dan may not remove bob's digest", actor: in(dan, "C0PUB"), cmd: DigestUnsubscribe{ID: "d1"}, kind: KindForbidden,
			wantErr: "Only <@UBOB>, who subscribed it, or a workspace admin can remove digest `d1`."},
		{name: "dan may not post bob's digest", actor: in(dan, "C0PUB"), cmd: DigestNow{ID: "d1"}, kind: KindForbidden,
			wantErr: "Only <@UBOB>, who subscribed it, or a workspace admin can post digest `d1`."},
		{name: "nor the one of the channel he is in", actor: in(dan, "C0PUB"), cmd: DigestNow{}, kind: KindForbidden,
			wantErr: "Only <@UBOB>, who subscribed it, or a workspace admin can post digest `d1`."},
		{name: "bob posts his digest", actor: in(bob, "C0ELSE"), cmd: DigestNow{ID: "d1"}},
		{name: "an admin posts it", actor: in(alice, "C0ELSE"), cmd: DigestNow{ID: "d2"}},
		{name: "an unknown digest is not found", actor: in(dan, "C0PUB"), cmd: DigestUnsubscribe{ID: "nope"}, kind: KindNotFound,
			wantErr: "There is no digest subscription `nope`. `/flag digest list` shows them."},
		{name: "an admin removes bob's private digest", actor: in(alice, "C0PUB"), cmd: DigestUnsubscribe{ID: "d2"}},
		{name: "bob removes his own", actor: in(bob, "C0ELSE"), cmd: DigestUnsubscribe{ID: "d1"}},
	}
	r, d := newDigestRig(t)
	d.private = map[string][]string{"G0BOB": {"UBOB"}}
	for _, st := range steps {
		_, err := r.exec.Execute(t.Context(), st.actor, st.cmd)
		if st.wantErr == "" {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			continue
		}
		e := wantKind(t, err, st.kind)
		if got := e.Msg.String(); got != st.wantErr {
			t.Errorf("%s:\n got %q\nwant %q", st.name, got, st.wantErr)
		}
	}
	if !slices.Equal(d.ran, []string{"d1", "d2"}) {
		t.Errorf("posted on demand: %v, want d1 (by bob) and d2 (by an admin)", d.ran)
	}
	if len(d.subs) != 0 || len(d.subscribe) != 2 {
		t.Errorf("%d subscriptions left of %d made; want both removed", len(d.subs), len(d.subscribe))
	}
}

func TestDigestListShowsWhatTheCallerMaySee(t *testing.T) {
	t.Parallel()
	r, d := newDigestRig(t)
	d.private = map[string][]string{"G0BOB": {"UBOB"}, "G0ALL": {"UBOB", "UALICE", "UDAN"}}
	for _, ch := range []string{"C0PUB", "G0BOB", "G0ALL", "G0GONE"} {
		if _, err := r.exec.Execute(t.Context(), Actor{Workspace: wsA, UserID: "UBOB", ChannelID: ch}, DigestSubscribe{}); err != nil {
			t.Fatal(err)
		}
	}
	d.hidden = map[string]bool{"G0GONE": true} // the bot was removed from it since
	tests := []struct {
		name      string
		actor     Actor
		want      []string // channels listed
		hidden    int
		hiddenIDs []string
	}{
		{"bob, in every private channel but the one the bot left", Actor{Workspace: wsA, UserID: "UBOB", ChannelID: "C0ELSE"}, []string{"C0PUB", "G0BOB", "G0ALL"}, 1, nil},
		{"bob, in that channel", Actor{Workspace: wsA, UserID: "UBOB", ChannelID: "G0GONE"}, []string{"C0PUB", "G0BOB", "G0ALL", "G0GONE"}, 0, nil},
		{"dan, in one of them", Actor{Workspace: wsA, UserID: "UDAN"}, []string{"C0PUB", "G0ALL"}, 2, nil},
		{"an admin in one of them: ids of the others", Actor{Workspace: wsA, UserID: "UALICE"}, []string{"C0PUB", "G0ALL"}, 2, []string{"d2", "d4"}},
	}
	for _, tt := range tests {
		res, err := r.exec.Execute(t.Context(), tt.actor, DigestList{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		l := res.(DigestListResult)
		var got []string
		for _, s := range l.Subscriptions {
			got = append(got, s.ChannelID)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tt.want))
		if !slices.Equal(got, want) || l.Hidden != tt.hidden || !slices.Equal(l.HiddenIDs, tt.hiddenIDs) {
			t.Errorf("%s: listed %v, %d hidden %v; want %v, %d hidden %v", tt.name, got, l.Hidden, l.HiddenIDs, want, tt.hidden, tt.hiddenIDs)
		}
	}
	// Slack not answering: no list rather than a guess.
	d.slackErr = errors.New("slack: internal_error")
	_, err := r.exec.Execute(t.Context(), Actor{Workspace: wsA, UserID: "UDAN"}, DigestList{})
	if e := wantKind(t, err, KindUnavailable); e.Msg.String() != "I couldn't check with Slack which of the digests' channels you can see. Try `/flag digest list` again in a minute." {
		t.Errorf("list while Slack fails: %q", e.Msg.String())
	}
}
