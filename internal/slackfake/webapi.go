package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// reply is a Web API answer: ok with fields, or a Slack error.
type reply struct {
	fields     map[string]any
	err        string
	status     int    // 0 means 200
	retryAfter string // Retry-After header, for 429s
}

func okReply(fields map[string]any) reply { return reply{fields: fields} }
func errReply(code string) reply          { return reply{err: code} }

// handleAPI serves POST and GET /api/{method}.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	call := Call{Method: r.PathValue("method"), Body: body, At: time.Now()}
	params, parseErr := parseParams(r, body)
	call.Params = params
	call.Token = bearer(r)
	if call.Token == "" && r.Header.Get("Authorization") == "" {
		call.Token = params["token"]
	}

	s.mu.Lock()
	s.recordTrafficLocked(r, body)
	var rep reply
	if parseErr != "" {
		rep = errReply(parseErr)
	} else {
		rep = s.answerLocked(r, &call)
	}
	call.Error = rep.err
	call.TS = answeredTS(rep)
	s.calls = trimLocked(s, append(s.calls, call), &s.callsDropped)
	s.notifyLocked()
	s.mu.Unlock()

	writeReply(w, rep)
	if s.opts.OnCall != nil {
		s.opts.OnCall(call)
	}
}

// answeredTS is the message ts an ok answer carries ("ts", or
// chat.postEphemeral's "message_ts"), "" when none.
func answeredTS(rep reply) string {
	if rep.err != "" {
		return ""
	}
	if ts, ok := rep.fields["ts"].(string); ok {
		return ts
	}
	ts, _ := rep.fields["message_ts"].(string)
	return ts
}

func writeReply(w http.ResponseWriter, rep reply) {
	out := map[string]any{"ok": rep.err == ""}
	if rep.err != "" {
		out["error"] = rep.err
	}
	for k, v := range rep.fields {
		out[k] = v
	}
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(tok)
}

// parseParams flattens a form, query or JSON body into strings (see
// Call.Params). It returns a Slack error code when the body cannot be read.
func parseParams(r *http.Request, body []byte) (map[string]string, string) {
	params := make(map[string]string)
	for k, vs := range r.URL.Query() {
		params[k] = vs[0]
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ctype == "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			return params, "" // apps.connections.open posts an empty JSON body
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return params, "invalid_json"
		}
		for k, raw := range fields {
			var str string
			if err := json.Unmarshal(raw, &str); err == nil {
				params[k] = str
				continue
			}
			params[k] = string(raw)
		}
	case len(body) > 0:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return params, "invalid_form_data"
		}
		for k, vs := range form {
			params[k] = vs[0]
		}
	}
	return params, ""
}

// answerLocked decides the answer to call. s.mu must be held.
func (s *Server) answerLocked(r *http.Request, call *Call) reply {
	if call.Method == "apps.connections.open" {
		s.opens++
	}
	if f := s.failures[call.Method]; f != nil {
		f.n--
		if f.n <= 0 {
			delete(s.failures, call.Method)
		}
		rep := errReply(f.err)
		if f.err == "ratelimited" {
			rep.status, rep.retryAfter = http.StatusTooManyRequests, "1"
		}
		return rep
	}
	if call.Method == "apps.connections.open" {
		// Only the Bearer header counts here; a form token is rejected.
		switch tok := bearer(r); {
		case tok == "":
			return errReply("not_authed")
		case tok != s.opts.AppToken:
			return errReply("invalid_auth")
		}
		s.tickets++
		ticket := fmt.Sprintf("t%d", s.tickets)
		s.openTickets[ticket] = true
		u := "ws://" + s.ln.Addr().String() + "/ws?ticket=" + ticket + "&app_id=" + AppID
		return okReply(map[string]any{"url": u})
	}
	if call.Method == "oauth.v2.access" {
		return s.oauthAccessLocked(call)
	}
	in := s.installs[call.Token]
	switch {
	case call.Token == "":
		return errReply("not_authed")
	case in == nil:
		return errReply("invalid_auth")
	case in.revoked:
		return errReply("token_revoked")
	}
	if rep, ok := s.answerChannelsLocked(call); ok {
		return rep
	}
	p := call.Params
	switch call.Method {
	case "chat.postMessage", "chat.update", "chat.postEphemeral", "conversations.info", "conversations.members":
		if p["channel"] != "" && !s.channelVisibleLocked(in, p["channel"]) {
			return errReply("channel_not_found")
		}
	}
	switch call.Method {
	case "auth.test":
		fields := map[string]any{
			"url": "https://flagbot-test.slack.com/", "team": "Flagbot Test", "user": "flagbot",
			"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false,
		}
		if !in.legacy {
			t := s.teamLocked(in.TeamID)
			fields["team"], fields["team_id"], fields["user_id"] = t.Name, in.TeamID, in.BotUserID
			fields["is_enterprise_install"] = in.EnterpriseInstall
			if in.EnterpriseID != "" {
				fields["enterprise_id"] = in.EnterpriseID
			}
		}
		return okReply(fields)
	case "chat.postMessage":
		if p["channel"] == "" {
			return errReply("channel_not_found")
		}
		if code := checkMessage(p["text"], p["blocks"], p["attachments"], false); code != "" {
			return errReply(code)
		}
		m := s.addMessageLocked(Message{Channel: p["channel"], UserID: BotUserID, Text: p["text"], Blocks: rawBlocks(p["blocks"]), Via: "chat.postMessage",
			Metadata: rawMetadata(p["metadata"])})
		return okReply(map[string]any{"channel": p["channel"], "ts": m.TS, "message": botMessage(p["text"], m.TS)})
	case "chat.update":
		if p["channel"] == "" {
			return errReply("channel_not_found")
		}
		if p["ts"] == "" {
			return errReply("message_not_found")
		}
		if code := checkMessage(p["text"], p["blocks"], p["attachments"], true); code != "" {
			return errReply(code)
		}
		// A message the fake never saw is answered ok too, so tests can
		// click buttons on made-up messages.
		s.updateMessageLocked(p["channel"]+"/"+p["ts"], p["text"], rawBlocks(p["blocks"]))
		return okReply(map[string]any{"channel": p["channel"], "ts": p["ts"], "text": p["text"], "message": botMessage(p["text"], p["ts"])})
	case "chat.postEphemeral":
		if p["channel"] == "" {
			return errReply("channel_not_found")
		}
		if p["user"] == "" {
			return errReply("user_not_in_channel")
		}
		if code := checkMessage(p["text"], p["blocks"], p["attachments"], false); code != "" {
			return errReply(code)
		}
		m := s.addMessageLocked(Message{Channel: p["channel"], UserID: BotUserID, Text: p["text"], Blocks: rawBlocks(p["blocks"]),
			VisibleTo: p["user"], Via: "chat.postEphemeral"})
		return okReply(map[string]any{"message_ts": m.TS})
	case "chat.unfurl":
		return s.unfurlLocked(p)
	case "views.open", "views.push":
		if tr := s.triggers[p["trigger_id"]]; tr != nil && tr.team != "" && !s.servesLocked(in, tr.team) {
			return errReply("invalid_trigger_id")
		}
		user, code := s.useTriggerLocked(p["trigger_id"])
		if code != "" {
			return errReply(code)
		}
		rep := s.viewReplyLocked(p["view"], "")
		if rep.err != "" {
			return rep
		}
		v := s.storeViewLocked(viewID(rep), user, p["view"])
		if call.Method == "views.open" {
			// A new modal replaces whatever the user had open.
			s.closeModalLocked(user, "", true)
		}
		s.ws.modals[user] = append(s.ws.modals[user], v.ID)
		return rep
	case "views.update":
		id := p["view_id"]
		if id == "" {
			id = p["external_id"]
		}
		if id == "" {
			return errReply("not_found")
		}
		v := s.viewByIDLocked(id)
		if v != nil {
			id = v.ID
		}
		rep := s.viewReplyLocked(p["view"], id)
		if rep.err == "" && v != nil {
			values := v.Values
			s.storeViewLocked(v.ID, v.UserID, p["view"]).Values = values
		}
		return rep
	case "views.publish":
		if p["user_id"] == "" {
			return errReply("invalid_arguments")
		}
		rep := s.viewReplyLocked(p["view"], s.ws.homes[p["user_id"]])
		if rep.err == "" {
			s.ws.homes[p["user_id"]] = s.storeViewLocked(viewID(rep), p["user_id"], p["view"]).ID
		}
		return rep
	case "users.list":
		var members []any
		for _, u := range s.users {
			members = append(members, userJSON(u))
		}
		return okReply(map[string]any{"members": members, "response_metadata": map[string]any{"next_cursor": ""}})
	case "usergroups.list":
		var groups []any
		for id, members := range s.groups {
			g := s.ws.groups[id]
			groups = append(groups, map[string]any{"id": id, "team_id": TeamID, "handle": g.Handle, "name": g.Name,
				"is_usergroup": true, "user_count": len(members), "users": append([]string{}, members...)})
		}
		return okReply(map[string]any{"usergroups": groups})
	case "conversations.members":
		return s.membersLocked(p)
	case "users.info":
		return s.usersInfoLocked(in, p)
	case "usergroups.users.list":
		members, ok := s.groups[p["usergroup"]]
		if !ok {
			return errReply("no_such_subteam")
		}
		return okReply(map[string]any{"users": append([]string{}, members...)})
	case "conversations.info":
		if p["channel"] == "" {
			return errReply("channel_not_found")
		}
		if c, ok := s.ws.channels[p["channel"]]; ok {
			return okReply(map[string]any{"channel": map[string]any{
				"id": c.ID, "name": c.Name, "is_channel": true, "is_member": true, "is_archived": false,
				"is_ext_shared": c.ExtShared, "is_shared": c.ExtShared, "num_members": len(c.Members),
			}})
		}
		return okReply(map[string]any{"channel": map[string]any{
			"id": p["channel"], "name": "channel-" + strings.ToLower(p["channel"]),
			"is_channel": true, "is_member": true, "is_archived": false,
		}})
	default:
		return errReply("unknown_method")
	}
}

// nextTSLocked returns the next message timestamp, "1700000000.000100" style,
// strictly increasing. s.mu must be held.
func (s *Server) nextTSLocked() string {
	s.tsSeq++
	return fmt.Sprintf("%d.%06d", 1700000000+s.tsSeq/10000, (s.tsSeq%10000)*100)
}

func botMessage(text, ts string) map[string]any {
	return map[string]any{"type": "message", "subtype": "bot_message", "text": text, "user": BotUserID, "bot_id": BotID, "ts": ts}
}

// useTriggerLocked checks and spends a trigger_id for views.open/push and
// returns the user whose action issued it.
func (s *Server) useTriggerLocked(id string) (string, string) {
	tr, ok := s.triggers[id]
	switch {
	case id == "" || !ok:
		return "", "invalid_trigger_id"
	case tr.used:
		return "", "trigger_exchanged"
	case s.opts.TriggerTTL > 0 && !tr.sent.IsZero() && time.Since(tr.sent) > s.opts.TriggerTTL:
		return "", "trigger_expired"
	}
	tr.used = true
	return tr.user, ""
}

// viewID is the id of the view in a views.* reply.
func viewID(rep reply) string {
	v, _ := rep.fields["view"].(map[string]any)
	return str(v["id"])
}

// rawBlocks turns a "blocks" parameter into JSON, nil when absent.
func rawBlocks(p string) json.RawMessage {
	if p == "" {
		return nil
	}
	return json.RawMessage(p)
}

// viewReplyLocked validates a view and echoes it back with an ID, as
// views.open/update/push/publish do.
func (s *Server) viewReplyLocked(rawView, id string) reply {
	if rawView == "" {
		return errReply("invalid_arguments")
	}
	var view map[string]any
	if err := json.Unmarshal([]byte(rawView), &view); err != nil {
		return errReply("invalid_arguments")
	}
	if code := checkView(view); code != "" {
		return errReply(code)
	}
	if id == "" {
		s.viewSeq++
		id = fmt.Sprintf("V%08d", s.viewSeq)
	}
	view["id"] = id
	view["team_id"] = TeamID
	view["app_id"] = AppID
	view["bot_id"] = BotID
	view["hash"] = fmt.Sprintf("1700000000.%08d", s.viewSeq)
	view["state"] = map[string]any{"values": map[string]any{}}
	return okReply(map[string]any{"view": view})
}

func (s *Server) usersInfoLocked(in *install, p map[string]string) reply {
	if ids := p["users"]; ids != "" {
		var out []any
		for id := range strings.SplitSeq(ids, ",") {
			u, ok := s.users[strings.TrimSpace(id)]
			if !ok || !s.userVisibleLocked(in, u) {
				return errReply("user_not_found")
			}
			out = append(out, userJSON(u))
		}
		return okReply(map[string]any{"users": out})
	}
	u, ok := s.users[p["user"]]
	if !ok || !s.userVisibleLocked(in, u) {
		return errReply("user_not_found")
	}
	return okReply(map[string]any{"user": userJSON(u)})
}

func userJSON(u User) map[string]any {
	m := map[string]any{
		"id": u.ID, "team_id": u.TeamID, "name": u.Name, "real_name": u.RealName,
		"is_admin": u.IsAdmin, "is_owner": u.IsOwner, "deleted": u.Deleted, "is_bot": false,
		"is_restricted": u.IsRestricted, "is_ultra_restricted": u.IsUltraRestricted,
		"is_stranger": u.TeamID != TeamID,
		"tz":          u.TZ,
		"profile": map[string]any{
			"display_name": u.Name, "real_name": u.RealName, "team": u.TeamID,
			"email": u.Email, "title": u.Title,
		},
	}
	if u.EnterpriseID != "" {
		m["enterprise_user"] = map[string]any{"id": u.ID, "enterprise_id": u.EnterpriseID, "teams": []string{u.TeamID}}
	}
	return m
}

// handleResponseURL serves POST /response_url/{id}.
func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	id := r.PathValue("id")
	resp := Response{URL: s.url + r.URL.Path, Body: bytes.Clone(body), At: time.Now()}
	var msg struct {
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal json.RawMessage `json:"replace_original"`
		DeleteOriginal  json.RawMessage `json:"delete_original"`
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		Attachments     json.RawMessage `json:"attachments"`
	}
	jsonErr := json.Unmarshal(body, &msg)
	resp.ResponseType = msg.ResponseType
	resp.ReplaceOriginal = truthy(msg.ReplaceOriginal)
	resp.DeleteOriginal = truthy(msg.DeleteOriginal)
	resp.Text = msg.Text
	if !isNullJSON(msg.Blocks) {
		resp.Blocks = msg.Blocks
	}

	s.mu.Lock()
	s.recordTrafficLocked(r, body)
	uses, known := s.responseUses[id]
	rep := reply{}
	switch {
	case !known:
		rep = reply{err: "invalid_url", status: http.StatusNotFound}
	case uses >= ResponseURLUses:
		rep = reply{err: "used_url", status: http.StatusNotFound}
	case jsonErr != nil:
		rep = reply{err: "invalid_payload", status: http.StatusBadRequest}
	case resp.DeleteOriginal:
	default:
		if code := checkMessage(msg.Text, rawOrEmpty(msg.Blocks), rawOrEmpty(msg.Attachments), false); code != "" {
			rep = errReply(code)
		}
	}
	resp.Error = rep.err
	if rep.err == "" {
		s.responseUses[id] = uses + 1
		s.applyResponseLocked(id, resp, resp.Blocks)
	}
	s.responses = trimLocked(s, append(s.responses, resp), &s.responsesDropped)
	s.notifyLocked()
	s.mu.Unlock()

	writeReply(w, rep)
}

// NewResponseURL issues a loopback response_url, for hand-built payloads
// (Interactive). SlashCommand and BlockAction issue their own.
func (s *Server) NewResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newResponseURLLocked()
}

func (s *Server) newResponseURLLocked() string {
	s.responseSeq++
	id := fmt.Sprint(s.responseSeq)
	s.responseUses[id] = 0
	return s.url + "/response_url/" + id
}

// NewTriggerID issues a trigger_id that views.open and views.push accept
// once, within Options.TriggerTTL of the envelope that carries it being
// sent. SlashCommand and BlockAction issue their own.
func (s *Server) NewTriggerID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newTriggerIDLocked()
}

func (s *Server) newTriggerIDLocked() string {
	s.triggerSeq++
	// A bot that remembers trigger IDs (Flagbot files a change once per
	// trigger) may outlive the fake in a persistent Redis.
	id := fmt.Sprintf("trig-%s-%d", s.triggerRun, s.triggerSeq)
	s.triggers[id] = &trigger{}
	return id
}

func truthy(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var str string
	return json.Unmarshal(raw, &str) == nil && str == "true"
}

func isNullJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func rawOrEmpty(raw json.RawMessage) string {
	if isNullJSON(raw) {
		return ""
	}
	return string(raw)
}

// runeLen counts characters the way Slack's limits do.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// unfurlLocked answers chat.unfurl: by channel and ts, or by unfurl_id and
// source; each unfurl's blocks must be within a message's limits and its
// URL a link of the message.
func (s *Server) unfurlLocked(p map[string]string) reply {
	var m *Message
	switch {
	case p["unfurl_id"] != "" && p["source"] != "":
		m = s.findMessageLocked(s.ws.unfurlIDs[p["unfurl_id"]])
	case p["channel"] != "" && p["ts"] != "":
		m = s.findMessageLocked(p["channel"] + "/" + p["ts"])
	default:
		return errReply("invalid_arguments")
	}
	if m == nil {
		return errReply("cannot_find_message")
	}
	var unfurls map[string]struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(p["unfurls"]), &unfurls); err != nil || len(unfurls) == 0 {
		return errReply("invalid_unfurls_format")
	}
	links := messageLinks(m.Text)
	urls := make([]string, 0, len(unfurls))
	for u, un := range unfurls {
		if !slices.Contains(links, u) || !s.ws.unfurlDomains[linkHost(u)] {
			return errReply("cannot_unfurl_url")
		}
		if code := checkMessage("", rawOrEmpty(un.Blocks), "", false); code != "" {
			return errReply(code)
		}
		urls = append(urls, u)
	}
	slices.Sort(urls)
	for _, u := range urls {
		m.Unfurls = slices.DeleteFunc(m.Unfurls, func(x Unfurl) bool { return x.URL == u })
		m.Unfurls = append(m.Unfurls, Unfurl{URL: u, Blocks: normalizeBlocks(unfurls[u].Blocks)})
	}
	s.changedLocked()
	return okReply(map[string]any{})
}
