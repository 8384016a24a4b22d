package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
	"github.com/flagbot/flagbot/internal/ld/ldfake"
	"github.com/flagbot/flagbot/internal/playground"
	"github.com/flagbot/flagbot/internal/slackfake"
)

// The approve flow: one unit is a whole change. A demo member asks to turn
// a flag on or off in production (`/flag on|off <flag> production`), the
// bot acks and posts the pending request with Approve and Reject buttons
// (chat.postMessage), another demo member clicks Approve (block_actions
// over Socket Mode), and the bot applies the change in LaunchDarkly (a
// semantic PATCH) and edits the request message to its applied state
// (chat.update, or a replace_original post to the click's response_url).
// The unit is done when that edit arrives.
//
// Each of the c workers owns one flag, added to the demo LaunchDarkly for
// the run and shaped like the demo's dark-mode, so no two changes wait on
// the same flag and every request is a real change: a worker reads its
// flag's state from the fake before each unit and asks for the opposite.
const (
	approveProject   = "web"
	approveEnv       = "production" // critical: every change needs approval
	approveFlagPre   = "loadtest-"  // + three digits: the worker's flag
	approveMaxC      = 999
	approveRequester = playground.DemoMember
	approveApprover  = playground.DemoMember2
	// stepTimeout bounds each wait of a unit (an ack, the posted request,
	// the applied edit); longer than the bot's own command timeout (10 s by
	// default), so its "took too long" answer arrives first.
	stepTimeout = 15 * time.Second
)

// Why a unit did not end applied; the result counts units by reason.
const (
	reasonFlagMissing   = "flag missing"
	reasonRequestSend   = "request not sent"
	reasonRequestAck    = "request not acked"
	reasonRequestRefuse = "request refused"
	reasonNotPosted     = "request not posted"
	reasonNoButton      = "no Approve button"
	reasonClickSend     = "click not sent"
	reasonClickAck      = "click not acked"
	reasonClickRefused  = "approval refused"
	reasonNotApplied    = "ended not applied"
	reasonNoUpdate      = "no applied update"
)

// unitError is why a unit failed: reason is counted, detail is shown for a
// few samples.
type unitError struct{ reason, detail string }

func (e *unitError) Error() string {
	if e.detail == "" {
		return e.reason
	}
	return e.reason + ": " + e.detail
}

func failed(reason, detail string) sample {
	return sample{err: &unitError{reason: reason, detail: tail(detail, 300)}}
}

// approveFlow routes the bot's posts and edits in the demo channel to the
// unit waiting for them.
type approveFlow struct {
	channel string
	posts   *waiters[slackfake.Call] // chat.postMessage, by the flag key in its blocks
	updates *waiters[slackfake.Call] // chat.update, by message ts
}

func newApproveFlow(channel string) *approveFlow {
	return &approveFlow{channel: channel, posts: newWaiters[slackfake.Call](), updates: newWaiters[slackfake.Call]()}
}

func approveFlag(worker int) string { return fmt.Sprintf("%s%03d", approveFlagPre, worker) }

// addFlags adds the c workers' flags to the demo LaunchDarkly, off in
// production.
func addApproveFlags(lds *ldfake.Server, c int) error {
	serve := func(i int) *ld.VariationOrRollout { return &ld.VariationOrRollout{Variation: &i} }
	env := func(on bool) ld.FlagEnvironment {
		off := 1
		return ld.FlagEnvironment{On: on, OffVariation: &off, Fallthrough: serve(0)}
	}
	for w := range c {
		f := ld.Flag{Key: approveFlag(w), Name: fmt.Sprintf("Load test %03d", w), Kind: "boolean", Tags: []string{"ui", "loadtest"},
			Variations:   []ld.Variation{{Value: json.RawMessage("true"), Name: "On"}, {Value: json.RawMessage("false"), Name: "Off"}},
			Environments: map[string]ld.FlagEnvironment{approveEnv: env(false), "staging": env(true), "development": env(true)}}
		if err := lds.AddFlag(approveProject, f); err != nil {
			return err
		}
	}
	return nil
}

// ldWrites is the number of writes LaunchDarkly applied to the c workers'
// flags in production so far (each bumps the environment's version, which
// starts at 1).
func ldWrites(lds *ldfake.Server, c int) int {
	n := 0
	for w := range c {
		if f, ok := lds.Flag(approveProject, approveFlag(w)); ok {
			n += f.Environments[approveEnv].Version - 1
		}
	}
	return n
}

// onCall is the fake Slack's OnCall hook.
func (f *approveFlow) onCall(c slackfake.Call) {
	if c.Error != "" || c.Params["channel"] != f.channel {
		return
	}
	switch c.Method {
	case "chat.postMessage":
		b := c.Params["blocks"]
		if i := strings.Index(b, approveFlagPre); i >= 0 && i+len(approveFlagPre)+3 <= len(b) {
			f.posts.deliver(b[i:i+len(approveFlagPre)+3], c)
		}
	case "chat.update":
		f.updates.deliver(c.TS, c)
	}
}

// unit runs one change as worker w: request, then approve.
func (f *approveFlow) unit(ctx context.Context, r *rig, w int) sample {
	p, s := f.request(ctx, r, w)
	if s.err != nil {
		return s
	}
	return f.approve(ctx, r, p, s)
}

// driveRounds runs n units of the approve flow in rounds of c: the round's
// c requests at once, then their approvals at once. It adds the bot's CPU
// time (pid's threads, in nanoseconds) in each half to request and
// approve: the "per approve → apply → message update" is the
// second. Each half ends once the bot has settled (see settled), so that
// what the bot still does for a half after the message the load test waits
// for (recording where the request was posted, telling the requester how
// it ended) is counted in that half, as when a person clicks seconds
// later.
func (f *approveFlow) driveRounds(ctx context.Context, r *rig, n, c, pid int) (samples []sample, request, approve time.Duration, err error) {
	samples = make([]sample, 0, n)
	cpu := func() (time.Duration, error) { return threadsCPU(pid) }
	t0, err := settled(cpu)
	if err != nil {
		return samples, request, approve, err
	}
	for len(samples) < n && ctx.Err() == nil {
		m := min(c, n-len(samples))
		pend := make([]pending, m)
		round := make([]sample, m)
		var wg sync.WaitGroup
		for w := range m {
			wg.Go(func() { pend[w], round[w] = f.request(ctx, r, w) })
		}
		wg.Wait()
		t1, err := settled(cpu)
		if err != nil {
			return samples, request, approve, err
		}
		for w := range m {
			if round[w].err == nil {
				wg.Go(func() { round[w] = f.approve(ctx, r, pend[w], round[w]) })
			}
		}
		wg.Wait()
		t2, err := settled(cpu)
		if err != nil {
			return samples, request, approve, err
		}
		request += t1 - t0
		approve += t2 - t1
		t0 = t2
		samples = append(samples, round...)
	}
	return samples, request, approve, ctx.Err()
}

// How settled decides the bot is done: it used less than settleBusy of
// CPU in settleGap, checked for at most settleMax (the bot's background
// work, a ping or a sweep, may keep it busy a little longer).
const (
	settleGap  = 2 * time.Millisecond
	settleBusy = 50 * time.Microsecond
	settleMax  = 200 * time.Millisecond
)

// settled waits until the bot has stopped working, by cpu (its CPU time so
// far), and returns its CPU time then.
func settled(cpu func() (time.Duration, error)) (time.Duration, error) {
	prev, err := cpu()
	if err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(settleMax); ; {
		time.Sleep(settleGap)
		cur, err := cpu()
		if err != nil {
			return 0, err
		}
		if cur-prev < settleBusy || time.Now().After(deadline) {
			return cur, nil
		}
		prev = cur
	}
}

// threadsCPU is the CPU time pid's threads have run, to the nanosecond
// (the first field of each /proc/PID/task/TID/schedstat).
func threadsCPU(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, fmt.Errorf("read the bot's threads (Linux only): %w", err)
	}
	var sum time.Duration
	for _, t := range tasks {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(raw))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("schedstat of thread %s: %w", t.Name(), err)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}

// pending is a request the bot posted, waiting for its Approve click.
type pending struct {
	key  string
	post slackfake.Call
}

// request asks for worker w's change and waits for the bot to post it.
func (f *approveFlow) request(ctx context.Context, r *rig, w int) (pending, sample) {
	key := approveFlag(w)
	fl, ok := r.lds.Flag(approveProject, key)
	if !ok {
		return pending{}, failed(reasonFlagMissing, key)
	}
	verb := "on"
	if fl.Environments[approveEnv].On {
		verb = "off"
	}
	var s sample

	// 1. The requester asks.
	posts := f.posts.add(key)
	defer f.posts.remove(key)
	reqPath := r.newPath()
	reqReplies := r.replies.add(reqPath)
	defer r.replies.remove(reqPath)
	start := time.Now()
	env, acked, err := r.acks.addSent(func() (string, error) {
		return r.sl.Send("slash_commands", r.slashPayload(approveRequester, "bo", verb+" "+key+" "+approveEnv, reqPath), true)
	})
	if err != nil {
		return pending{}, failed(reasonRequestSend, err.Error())
	}
	defer r.acks.remove(env)
	if _, ok := within(ctx, acked); !ok {
		return pending{}, failed(reasonRequestAck, key)
	}

	// 2. The bot posts the pending request.
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	var post slackfake.Call
	select {
	case post = <-posts:
	case body := <-reqReplies:
		return pending{}, failed(reasonRequestRefuse, replyText(body))
	case <-sctx.Done():
		return pending{}, failed(reasonNotPosted, key)
	}
	s.request = post.At.Sub(start)
	return pending{key: key, post: post}, s
}

// approve clicks Approve on p as someone else and waits for the bot to
// apply the change and edit the request to say so.
func (f *approveFlow) approve(ctx context.Context, r *rig, p pending, s sample) sample {
	key, post := p.key, p.post
	button, blockID, ok := approveButton(post.Params["blocks"])
	if !ok || post.TS == "" {
		return failed(reasonNoButton, post.Params["blocks"])
	}

	// 3. Someone else clicks Approve.
	updates := f.updates.add(post.TS)
	defer f.updates.remove(post.TS)
	clickPath := r.newPath()
	clickReplies := r.replies.add(clickPath)
	defer r.replies.remove(clickPath)
	clicked := time.Now()
	env, acked, err := r.acks.addSent(func() (string, error) {
		return r.sl.Send("interactive", r.approvePayload(post, button, blockID, clickPath), false)
	})
	if err != nil {
		return failed(reasonClickSend, err.Error())
	}
	defer r.acks.remove(env)
	a, ok := within(ctx, acked)
	if !ok {
		return failed(reasonClickAck, key)
	}
	s.ack = ackLatency(a)

	// 4. The bot applies it and edits the request.
	uctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	for {
		select {
		case u := <-updates:
			switch state(u.Params["blocks"] + u.Params["text"]) {
			case stateApplied:
				s.done = u.At.Sub(clicked)
				return s
			case stateNotApplied:
				return failed(reasonNotApplied, u.Params["text"])
			}
			// Approved, applying it now: the final edit follows.
		case body := <-clickReplies:
			// chat.update failed and the bot replaced the message
			// through response_url, or it refused the click.
			if state(string(body)) == stateApplied && strings.Contains(string(body), `"replace_original":true`) {
				s.done = time.Since(clicked)
				return s
			}
			return failed(reasonClickRefused, replyText(body))
		case <-uctx.Done():
			return failed(reasonNoUpdate, key)
		}
	}
}

// replyText is the text of a response_url post, or the post as it is.
func replyText(body []byte) string {
	var m struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(body, &m) != nil || m.Text == "" {
		return string(body)
	}
	return m.Text
}

// within waits stepTimeout at most for a value on ch.
func within[T any](ctx context.Context, ch <-chan T) (T, bool) {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	select {
	case v := <-ch:
		return v, true
	case <-ctx.Done():
		var zero T
		return zero, false
	}
}

// What a request message says about its change.
const (
	statePending = iota
	stateApplied
	stateNotApplied
)

// state reads a change message's state from its JSON or text: applied,
// still pending or applying, or ended otherwise.
func state(msg string) int {
	switch {
	case strings.Contains(msg, "*Applied*"):
		return stateApplied
	case strings.Contains(msg, ":hourglass_flowing_sand:"), strings.Contains(msg, "applying it now"):
		return statePending
	}
	return stateNotApplied
}

// approveButton finds the Approve button in a message's blocks and returns
// its value (the change ID) and its block's ID.
func approveButton(blocks string) (value, blockID string, ok bool) {
	var bs []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if json.Unmarshal([]byte(blocks), &bs) != nil {
		return "", "", false
	}
	for i, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == "change_approve" && e.Value != "" {
				if b.BlockID == "" {
					b.BlockID = "b" + strconv.Itoa(i) // Slack gives every block an ID
				}
				return e.Value, b.BlockID, true
			}
		}
	}
	return "", "", false
}

// approvePayload is the block_actions payload of the approver clicking
// Approve on the posted request, as Slack sends it (the message with its
// blocks included), answering to path on our response_url server.
func (r *rig) approvePayload(post slackfake.Call, value, blockID, path string) map[string]any {
	ch, ts := post.Params["channel"], post.TS
	return map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": approveApprover, "username": "cy", "name": "cy", "team_id": slackfake.TeamID},
		"api_app_id": slackfake.AppID,
		"token":      "slackfake-verification-token",
		"container":  map[string]any{"type": "message", "message_ts": ts, "channel_id": ch, "is_ephemeral": false},
		"trigger_id": r.sl.NewTriggerID(),
		"team":       map[string]any{"id": slackfake.TeamID, "domain": "demo"},
		"enterprise": nil, "is_enterprise_install": false,
		"channel": map[string]any{"id": ch, "name": r.demo.ChannelName},
		"message": map[string]any{
			"type": "message", "subtype": "bot_message", "ts": ts, "user": slackfake.BotUserID, "bot_id": slackfake.BotID,
			"text": post.Params["text"], "blocks": json.RawMessage(post.Params["blocks"]),
		},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": r.replyURL + path,
		"actions": []any{map[string]any{
			"type": "button", "action_id": "change_approve", "block_id": blockID, "value": value, "style": "primary",
			"text":      map[string]any{"type": "plain_text", "text": "Approve", "emoji": true},
			"action_ts": strconv.FormatFloat(float64(time.Now().UnixMicro())/1e6, 'f', 6, 64),
		}},
	}
}
