package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/digest"
	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/redisstore"
	"github.com/flagbot/flagbot/internal/redisstore/redistest"
	"github.com/flagbot/flagbot/internal/secret"
	"github.com/flagbot/flagbot/internal/slackapp"
	"github.com/flagbot/flagbot/internal/slackfake"
	"github.com/flagbot/flagbot/internal/tokenstore"
)

// Encryption keys of the rotation tests (base64 of 32 bytes). testKeyB64
// is key A.
const (
	keyB64B = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="
	keyB64C = "Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M="
)

// unreadableText is what every command answers when the workspace's stored
// token cannot be read (slackapp's renderer, exact).
const unreadableText = "This workspace's stored LaunchDarkly token can't be read with the current encryption key; an admin must run `/flag connect`."

func keyID(t testing.TB, b64 string) string {
	t.Helper()
	k, err := tokenstore.ParseKey(b64)
	if err != nil {
		t.Fatal(err)
	}
	return tokenstore.KeyID(k)
}

// storedKeyID reads the key id of teamID's stored connection straight
// from the bot's Redis.
func storedKeyID(t testing.TB, redisURL, team string) string {
	t.Helper()
	st, err := redisstore.Open(t.Context(), redisURL, nil, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := st.Get(t.Context(), redisstore.WorkspaceKey(team, "", "connection"))
	if err != nil {
		t.Fatalf("stored connection of %s: %v", team, err)
	}
	var env struct{ KID string }
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	return env.KID
}

func keys(redisURL, current string, old ...string) []botOption {
	opts := []botOption{withEnv("REDIS_URL", redisURL), withEnv("FLAGBOT_ENCRYPTION_KEY", current)}
	if len(old) > 0 {
		opts = append(opts, withEnv("FLAGBOT_ENCRYPTION_OLD_KEYS", strings.Join(old, ",")))
	}
	return opts
}

// TestKeyRotationThroughRun: connect with key A; restart with key B and A
// as an old key: /flag status works and the stored record now carries B's
// key id; restart with B alone: still works.
func TestKeyRotationThroughRun(t *testing.T) {
	rs := startRedisServer(t)
	sl, lds := newSlack(t), newLD(t)

	first := startBot(t, sl, lds, keys(rs.url(), testKeyB64)...)
	if ack := first.connect(t, teamID, adminID, writerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect failed: %s", ack.Payload)
	}
	first.stop(t)
	if got, want := storedKeyID(t, rs.url(), teamID), keyID(t, testKeyB64); got != want {
		t.Fatalf("connected with key id %s, want A's %s", got, want)
	}

	second := startBot(t, sl, lds, keys(rs.url(), keyB64B, testKeyB64)...)
	wantContains(t, "status with B and old A", string(second.command(t, teamID, userID, "status").Body), "flagbot-writer")
	if got, want := storedKeyID(t, rs.url(), teamID), keyID(t, keyB64B); got != want {
		t.Errorf("after /flag status the record carries key id %s, want B's %s", got, want)
	}
	if !strings.Contains(second.logs.String(), `"msg":"re-encrypted a connection with the current key"`) {
		t.Errorf("no log line says the connection was re-encrypted:\n%s", second.logs.String())
	}
	second.stop(t)

	third := startBot(t, sl, lds, keys(rs.url(), keyB64B)...)
	wantContains(t, "status with B alone", string(third.command(t, teamID, userID, "status").Body), "flagbot-writer")
	wantContains(t, "show with B alone", string(third.command(t, teamID, userID, "show dark-mode").Body), "Dark mode")
	for _, b := range []*bot{first, second, third} {
		b.assertNoSecrets(t)
	}
}

// TestLostKeyThroughRun: with a key that opens nothing stored, every
// command says exactly that an admin must reconnect; connect and
// disconnect still work.
func TestLostKeyThroughRun(t *testing.T) {
	rs := startRedisServer(t)
	sl, lds := newSlack(t), newLD(t)
	first := startBot(t, sl, lds, keys(rs.url(), testKeyB64)...)
	if ack := first.connect(t, teamID, adminID, writerToken, "web", "production"); len(ack.Payload) != 0 {
		t.Fatalf("connect failed: %s", ack.Payload)
	}
	first.stop(t)

	lost := startBot(t, sl, lds, keys(rs.url(), keyB64C)...) // A is gone
	for _, cmd := range []string{"status", "show dark-mode", "on dark-mode staging", "config env staging", "history"} {
		if r := lost.command(t, teamID, adminID, cmd); r.Text != unreadableText {
			t.Errorf("/flag %s answered %q, want %q", cmd, r.Text, unreadableText)
		}
	}
	// Reconnecting replaces the unreadable token.
	if ack := lost.connect(t, teamID, adminID, readerToken, "web", ""); len(ack.Payload) != 0 {
		t.Fatalf("connect over an unreadable token failed: %s", ack.Payload)
	}
	wantContains(t, "status after reconnecting", string(lost.command(t, teamID, userID, "status").Body), "flagbot-reader")
	lost.stop(t)

	// Lost again; this time the admin disconnects.
	again := startBot(t, sl, lds, keys(rs.url(), testKeyB64)...)
	const want = "Disconnected from LaunchDarkly. Flagbot deleted this workspace's stored token, which it could no longer read."
	if r := again.command(t, teamID, adminID, "disconnect"); r.Text != want {
		t.Errorf("/flag disconnect answered %q, want %q", r.Text, want)
	}
	if r := again.command(t, teamID, userID, "status"); !strings.Contains(r.Text, "not connected") {
		t.Errorf("/flag status after the disconnect answered %q", r.Text)
	}
	for _, b := range []*bot{first, lost, again} {
		b.assertNoSecrets(t)
	}
}

// TestDigestPausesOnLostKey: the scheduler, built as run builds it on a
// real Redis with the real token store, posts one notice for a workspace
// whose token it cannot read, then nothing, and resumes after a reconnect.
func TestDigestPausesOnLostKey(t *testing.T) {
	store := redistest.NewRealTestStore(t)
	r := newDigestRig(t, store)
	ringOf := func(b64 string) *tokenstore.Keyring {
		k, err := tokenstore.ParseKey(b64)
		if err != nil {
			t.Fatal(err)
		}
		ring, err := tokenstore.NewKeyring(tokenstore.KeyID(k), map[string]secret.Secret{tokenstore.KeyID(k): k})
		if err != nil {
			t.Fatal(err)
		}
		return ring
	}
	notFound := func(err error) bool { return errors.Is(err, redisstore.ErrNotFound) }
	ws := commands.Workspace{TeamID: teamID}
	conn := commands.Connection{Token: writerToken, DefaultProject: "web", Role: commands.RoleWriter}
	if err := tokenstore.New(store, ringOf(testKeyB64), notFound, tokenstore.Options{}).Put(t.Context(), ws, conn); err != nil {
		t.Fatal(err)
	}
	tokens := tokenstore.New(store, ringOf(keyB64C), notFound, tokenstore.Options{}) // A was lost
	client, err := ld.NewClient(r.ld.URL(), ld.Options{Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	clients := func(tok secret.Secret) commands.LaunchDarkly { return ld.NewService(client.WithToken(tok)) }
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	sl := slackapp.NewDigestSlack(slackapp.NewClients(slackapp.SingleWorkspace(slackfake.DefaultBotToken), slackapp.Options{APIURL: r.slack.APIURL()}), slackapp.Options{APIURL: r.slack.APIURL(), Now: r.clock.Now, Sleep: r.clock.Sleep})
	s := digest.New(digest.NewRedisStore(store, log), tokens, clients, sl, r.changes, digest.Options{Clock: r.clock.Clock, Now: r.clock.Now, Logger: log, BaseURL: r.ld.URL(), Owner: "r1"})
	sub := subscribeDigest(t, s, channelID, commands.DigestSchedule{Frequency: commands.DigestHourly}, true)

	notices := func() []slackfake.Call {
		var out []slackfake.Call
		for _, c := range r.slack.Calls("chat.postMessage") {
			if c.Error == "" && strings.HasPrefix(c.Params["text"], ":warning: The digest") {
				out = append(out, c)
			}
		}
		return out
	}
	start := r.clock.Now()
	for i := range 4 { // four hourly runs, two ticks each
		r.clock.Set(start.Add(time.Duration(i+1)*time.Hour + time.Minute))
		for range 2 {
			if err := s.Tick(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := notices()
	if len(got) != 1 || len(r.digestPosts()) != 0 {
		t.Fatalf("%d notices and %d digests while the key is lost, want 1 and 0", len(got), len(r.digestPosts()))
	}
	want := ":warning: The digest `" + sub.ID + "` is paused: this workspace's stored LaunchDarkly token can't be read with the current encryption key. " +
		"An admin must run `/flag connect`; the digest resumes at its next run after that and covers the gap."
	if got[0].Params["channel"] != channelID || got[0].Params["text"] != want {
		t.Errorf("notice in %s = %q, want %q", got[0].Params["channel"], got[0].Params["text"], want)
	}

	if err := tokens.Put(t.Context(), ws, conn); err != nil { // an admin reconnects
		t.Fatal(err)
	}
	r.clock.Set(start.Add(5*time.Hour + time.Minute))
	if err := s.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(r.digestPosts()); n != 1 || len(notices()) != 1 {
		t.Errorf("after the reconnect: %d digests, %d notices; want 1 and still 1", n, len(notices()))
	}
}
