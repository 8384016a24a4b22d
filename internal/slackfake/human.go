package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// What a person does in a Slack client, as the playground page forwards
// it: type in the message box, click, submit or close a modal, type into
// an external select, open the App Home. Each builds the payload Slack
// would send from what the fake stored, so the bot sees what it would see
// in Slack.

// SubmitTimeout is how long Slack waits for the ack of a view submission
// or a block suggestion.
const SubmitTimeout = 3 * time.Second

// Compose is a person sending text from the message box of channel: a
// "/command …" goes to the bot as a slash command, anything else is posted
// as their message. As in Slack, people from another organisation in a
// Slack Connect channel cannot use the app's slash commands: Slackbot tells
// them so.
func (s *Server) Compose(userID, channelID, text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	s.mu.Lock()
	u, known := s.users[userID]
	s.mu.Unlock()
	if !known {
		return fmt.Errorf("slackfake: compose: unknown user %q: %w", userID, ErrNotFound)
	}
	if !strings.HasPrefix(text, "/") {
		s.mu.Lock()
		m := s.addMessageLocked(Message{Channel: channelID, UserID: userID, Text: text, Via: "composer"})
		event := s.linkSharedLocked(m)
		s.mu.Unlock()
		if event == nil {
			return nil
		}
		return s.sendEvent(event)
	}
	command, args, _ := strings.Cut(text, " ")
	if u.TeamID != TeamID {
		s.mu.Lock()
		s.addMessageLocked(Message{Channel: channelID, UserID: "USLACKBOT", VisibleTo: userID, Via: "slackbot",
			Text: fmt.Sprintf("%s is an app of another organisation's workspace: people outside that workspace can't use its commands here.", command)})
		s.mu.Unlock()
		return nil
	}
	_, err := s.SlashCommand(SlashCommand{UserID: userID, UserName: u.Name, ChannelID: channelID, Command: command, Text: strings.TrimSpace(args)})
	return err
}

// Click is a person using an interactive element: a button, or an option
// picked in a select or overflow menu.
type Click struct {
	UserID string
	// MessageKey names the message holding the element (Message.Key), or
	// ViewID the modal or Home view.
	MessageKey string
	ViewID     string
	BlockID    string
	ActionID   string
	// Value is the option's value for selects and overflow menus (a
	// button's value comes from the stored button).
	Value string
	// OptionText is the picked option's text for external selects, whose
	// options the fake does not store.
	OptionText string
	// Values, for an element in a modal, are what the person has typed or
	// picked in the modal's inputs so far (block ID → action ID → text or
	// option value, as SubmitView takes them); nil keeps what the modal
	// held. The payload's view.state carries them with the clicked
	// element's new value, as Slack sends the full state with every
	// block_actions.
	Values map[string]map[string]string
}

// Click sends the block_actions payload for c.
func (s *Server) Click(c Click) error {
	s.mu.Lock()
	p, err := s.blockActionsLocked(c)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = s.Send("interactive", p, false)
	return err
}

func (s *Server) blockActionsLocked(c Click) (map[string]any, error) {
	u, ok := s.users[c.UserID]
	if !ok {
		return nil, fmt.Errorf("slackfake: click: unknown user %q: %w", c.UserID, ErrNotFound)
	}
	var blocks json.RawMessage
	var msg *Message
	var view *View
	if c.ViewID != "" {
		if view = s.ws.views[c.ViewID]; view == nil {
			return nil, fmt.Errorf("slackfake: click: view %s: %w", c.ViewID, ErrNotFound)
		}
		var v struct {
			Blocks json.RawMessage `json:"blocks"`
		}
		_ = json.Unmarshal(view.JSON, &v)
		blocks = v.Blocks
	} else {
		if msg = s.findMessageLocked(c.MessageKey); msg == nil {
			return nil, fmt.Errorf("slackfake: click: message %s: %w", c.MessageKey, ErrNotFound)
		}
		blocks = msg.Blocks
	}
	el := findElement(blocks, c.BlockID, c.ActionID)
	unfurled := false
	if el == nil && msg != nil {
		for _, u := range msg.Unfurls {
			if el = findElement(u.Blocks, c.BlockID, c.ActionID); el != nil {
				unfurled = true
				break
			}
		}
	}
	if el == nil {
		return nil, fmt.Errorf("slackfake: click: element %s/%s: %w", c.BlockID, c.ActionID, ErrNotFound)
	}
	action := map[string]any{
		"type": str(el["type"]), "action_id": c.ActionID, "block_id": c.BlockID, "action_ts": s.nextTSLocked(),
	}
	switch str(el["type"]) {
	case "button":
		action["text"] = el["text"]
		action["value"] = el["value"]
		if st := str(el["style"]); st != "" {
			action["style"] = st
		}
	case "plain_text_input":
		action["value"] = c.Value
	default:
		opt := findOption(el, c.Value)
		if opt == nil {
			opt = map[string]any{"text": map[string]any{"type": "plain_text", "text": c.OptionText, "emoji": true}, "value": c.Value}
		}
		action["selected_option"] = opt
	}
	triggerID := s.newTriggerIDLocked()
	s.triggers[triggerID].user = c.UserID
	p := map[string]any{
		"type":                  "block_actions",
		"user":                  map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": u.TeamID},
		"api_app_id":            AppID,
		"token":                 "slackfake-verification-token",
		"trigger_id":            triggerID,
		"team":                  map[string]any{"id": TeamID, "domain": "team-" + strings.ToLower(TeamID)},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"state":                 map[string]any{"values": map[string]any{}},
		"actions":               []any{action},
	}
	if view != nil {
		typed := c.Values
		if typed == nil {
			typed = typedValues(view.Values)
		}
		merged := make(map[string]map[string]string, len(typed)+1)
		for b, acts := range typed {
			merged[b] = make(map[string]string, len(acts))
			for a, v := range acts {
				merged[b][a] = v
			}
		}
		if merged[c.BlockID] == nil {
			merged[c.BlockID] = map[string]string{}
		}
		merged[c.BlockID][c.ActionID] = c.Value
		values := s.stateValuesLocked(view, merged)
		if opt, ok := action["selected_option"]; ok {
			if st := values[c.BlockID][c.ActionID]; st != nil {
				st.(map[string]any)["selected_option"] = opt
			}
		}
		view.Values = values
		p["container"] = map[string]any{"type": "view", "view_id": view.ID}
		p["view"] = s.viewPayloadLocked(view, values)
		p["state"] = map[string]any{"values": values}
		return p, nil
	}
	responseURL := s.newResponseURLLocked()
	s.replyContextLocked(responseURL, responseDest{channel: msg.Channel, user: c.UserID, origKey: msg.Key})
	p["response_url"] = responseURL
	p["container"] = map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": msg.Channel, "is_ephemeral": msg.VisibleTo != "", "is_app_unfurl": unfurled}
	p["channel"] = map[string]any{"id": msg.Channel, "name": s.channelNameLocked(msg.Channel)}
	if msg.VisibleTo == "" { // Slack leaves ephemeral messages out
		m := map[string]any{"type": "message", "ts": msg.TS, "text": msg.Text, "user": msg.UserID}
		if msg.UserID == BotUserID {
			m["subtype"], m["bot_id"] = "bot_message", BotID
		}
		if msg.Blocks != nil {
			m["blocks"] = msg.Blocks
		}
		p["message"] = m
	}
	return p, nil
}

func (s *Server) channelNameLocked(id string) string {
	if c, ok := s.ws.channels[id]; ok {
		return c.Name
	}
	return "channel-" + strings.ToLower(id)
}

// SubmitView submits the modal viewID for userID with values (block ID ->
// action ID -> the typed text or the picked option's value) and waits up
// to SubmitTimeout for the bot's ack, which Slack acts on: no
// response_action closes the modal, "errors" shows them inline, "update",
// "push" and "clear" do what they say. A late ack leaves the modal open
// with View.Problem set.
func (s *Server) SubmitView(ctx context.Context, userID, viewID string, values map[string]map[string]string) error {
	s.mu.Lock()
	v := s.ws.views[viewID]
	u, known := s.users[userID]
	if v == nil || v.UserID != userID || !known {
		s.mu.Unlock()
		return fmt.Errorf("slackfake: submit view %s: %w", viewID, ErrNotFound)
	}
	v.Values = s.stateValuesLocked(v, values)
	v.Problem = ""
	triggerID := s.newTriggerIDLocked()
	s.triggers[triggerID].user = userID
	p := map[string]any{
		"type":                  "view_submission",
		"team":                  map[string]any{"id": TeamID, "domain": "team-" + strings.ToLower(TeamID)},
		"user":                  map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": u.TeamID},
		"api_app_id":            AppID,
		"token":                 "slackfake-verification-token",
		"trigger_id":            triggerID,
		"view":                  s.viewPayloadLocked(v, v.Values),
		"response_urls":         []any{},
		"is_enterprise_install": false,
		"enterprise":            nil,
	}
	s.changedLocked()
	s.mu.Unlock()
	id, err := s.sendExpecting("interactive", p, true, pendingAck{kind: "view_submission", user: userID, viewID: viewID})
	if err != nil {
		return err
	}
	return s.awaitAck(ctx, id, func() {
		if v := s.ws.views[viewID]; v != nil {
			v.Problem = "We had some trouble connecting. Try again?"
			s.changedLocked()
		}
	})
}

// awaitAck waits up to SubmitTimeout for the ack of envelope id; when none
// comes it forgets the envelope and runs late with s.mu held.
func (s *Server) awaitAck(ctx context.Context, id string, late func()) error {
	wctx, cancel := context.WithTimeout(ctx, SubmitTimeout)
	defer cancel()
	if _, err := s.WaitAck(wctx, id); err != nil {
		s.mu.Lock()
		delete(s.ws.envelopes, id)
		late()
		s.mu.Unlock()
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return err
		}
	}
	return nil
}

// stateValuesLocked turns typed values into view.state.values, shaped by
// each input's element type.
func (s *Server) stateValuesLocked(v *View, typed map[string]map[string]string) map[string]map[string]any {
	var view struct {
		Blocks []map[string]any `json:"blocks"`
	}
	_ = json.Unmarshal(v.JSON, &view)
	out := make(map[string]map[string]any)
	for _, b := range view.Blocks {
		if str(b["type"]) != "input" {
			continue
		}
		el, _ := b["element"].(map[string]any)
		if el == nil {
			continue
		}
		blockID, actionID := str(b["block_id"]), str(el["action_id"])
		value, given := typed[blockID][actionID]
		state := map[string]any{"type": str(el["type"])}
		switch str(el["type"]) {
		case "static_select", "external_select":
			state["selected_option"] = nil
			if given && value != "" {
				opt := findOption(el, value)
				if opt == nil {
					opt = map[string]any{"text": map[string]any{"type": "plain_text", "text": value, "emoji": true}, "value": value}
				}
				state["selected_option"] = opt
			}
		default:
			if given {
				state["value"] = value
			} else {
				state["value"] = nil
			}
		}
		out[blockID] = map[string]any{actionID: state}
	}
	return out
}

// typedValues turns view.state.values back into what a person typed or
// picked: the text of text inputs, the value of selected options.
func typedValues(values map[string]map[string]any) map[string]map[string]string {
	out := make(map[string]map[string]string, len(values))
	for b, acts := range values {
		out[b] = map[string]string{}
		for a, st := range acts {
			m, _ := st.(map[string]any)
			if opt, ok := m["selected_option"].(map[string]any); ok {
				out[b][a] = str(opt["value"])
			} else {
				out[b][a] = str(m["value"])
			}
		}
	}
	return out
}

// viewPayloadLocked is the view as Slack puts it in interaction payloads.
func (s *Server) viewPayloadLocked(v *View, values map[string]map[string]any) map[string]any {
	var view map[string]any
	_ = json.Unmarshal(v.JSON, &view)
	if view == nil {
		view = map[string]any{}
	}
	if values == nil {
		values = map[string]map[string]any{}
	}
	view["id"] = v.ID
	view["team_id"] = TeamID
	view["app_id"] = AppID
	view["bot_id"] = BotID
	view["hash"] = "1700000000." + v.ID
	view["state"] = map[string]any{"values": values}
	return view
}

// CloseView is a person closing their top modal (or the one named): it and
// any modal above it go. If the view asked for notify_on_close the bot gets
// a view_closed payload.
func (s *Server) CloseView(userID, viewID string) error {
	s.mu.Lock()
	v := s.ws.views[viewID]
	u := s.users[userID]
	if v == nil || v.UserID != userID {
		s.mu.Unlock()
		return fmt.Errorf("slackfake: close view %s: %w", viewID, ErrNotFound)
	}
	var notify struct {
		NotifyOnClose bool `json:"notify_on_close"`
	}
	_ = json.Unmarshal(v.JSON, &notify)
	payload := map[string]any{
		"type":       "view_closed",
		"team":       map[string]any{"id": TeamID, "domain": "team-" + strings.ToLower(TeamID)},
		"user":       map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": u.TeamID},
		"api_app_id": AppID,
		"view":       s.viewPayloadLocked(v, v.Values),
		"is_cleared": false,
	}
	s.closeModalLocked(userID, viewID, false)
	s.mu.Unlock()
	if !notify.NotifyOnClose {
		return nil
	}
	_, err := s.Send("interactive", payload, false)
	return err
}

// Suggest is a person typing value into an external select: it sends a
// block_suggestion and returns the options (or option_groups) object from
// the bot's ack, {} when the bot sent none in time.
func (s *Server) Suggest(ctx context.Context, c Click) (json.RawMessage, error) {
	s.mu.Lock()
	u, ok := s.users[c.UserID]
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("slackfake: suggest: unknown user %q: %w", c.UserID, ErrNotFound)
	}
	p := map[string]any{
		"type":       "block_suggestion",
		"user":       map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": u.TeamID},
		"team":       map[string]any{"id": TeamID, "domain": "team-" + strings.ToLower(TeamID)},
		"api_app_id": AppID,
		"token":      "slackfake-verification-token",
		"action_id":  c.ActionID,
		"block_id":   c.BlockID,
		"value":      c.Value,
		"action_ts":  s.nextTSLocked(),
	}
	if v := s.ws.views[c.ViewID]; v != nil {
		p["container"] = map[string]any{"type": "view", "view_id": v.ID}
		p["view"] = s.viewPayloadLocked(v, v.Values)
	} else if m := s.findMessageLocked(c.MessageKey); m != nil {
		p["container"] = map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": m.VisibleTo != ""}
		p["channel"] = map[string]any{"id": m.Channel, "name": s.channelNameLocked(m.Channel)}
	} else {
		s.mu.Unlock()
		return nil, fmt.Errorf("slackfake: suggest: no message or view: %w", ErrNotFound)
	}
	s.mu.Unlock()
	id, err := s.Send("interactive", p, true)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, SubmitTimeout)
	defer cancel()
	ack, err := s.WaitAck(wctx, id)
	if err != nil || ack.Payload == nil {
		return json.RawMessage(`{}`), nil
	}
	return ack.Payload, nil
}

// OpenHome is a person opening the app's Home tab: the bot gets an
// app_home_opened event (with the view it published, if any).
func (s *Server) OpenHome(userID string) error {
	s.mu.Lock()
	event := map[string]any{
		"type": "app_home_opened", "user": userID, "channel": "D" + strings.TrimPrefix(userID, "U"),
		"tab": "home", "event_ts": s.nextTSLocked(),
	}
	if v := s.ws.views[s.ws.homes[userID]]; v != nil {
		event["view"] = s.viewPayloadLocked(v, nil)
	}
	s.mu.Unlock()
	return s.sendEvent(event)
}

// sendEvent sends an Events API envelope around event.
func (s *Server) sendEvent(event map[string]any) error {
	s.mu.Lock()
	s.envelopeSeq++
	eventID := fmt.Sprintf("Ev%08d", s.envelopeSeq)
	shared := false
	if ch, ok := s.ws.channels[str(event["channel"])]; ok {
		shared = ch.ExtShared
	}
	s.mu.Unlock()
	_, err := s.Send("events_api", map[string]any{
		"token": "slackfake-verification-token", "team_id": TeamID, "api_app_id": AppID,
		"event": event, "type": "event_callback", "event_id": eventID, "event_time": time.Now().Unix(),
		"is_ext_shared_channel": shared,
		"authorizations":        []any{map[string]any{"team_id": TeamID, "user_id": BotUserID, "is_bot": true}},
	}, false)
	return err
}

// linkSharedLocked is the link_shared event for the links of m on an
// unfurl domain, or nil when it has none.
func (s *Server) linkSharedLocked(m *Message) map[string]any {
	var links []any
	for _, u := range messageLinks(m.Text) {
		if host := linkHost(u); s.ws.unfurlDomains[host] {
			links = append(links, map[string]any{"url": u, "domain": host})
		}
	}
	if len(links) == 0 {
		return nil
	}
	s.envelopeSeq++
	unfurlID := fmt.Sprintf("Uf%08d", s.envelopeSeq)
	s.ws.unfurlIDs[unfurlID] = m.Key
	return map[string]any{
		"type": "link_shared", "channel": m.Channel, "user": m.UserID, "message_ts": m.TS,
		"unfurl_id": unfurlID, "source": "conversations_history", "links": links, "event_ts": s.nextTSLocked(),
	}
}

// linkHost is the lower-case host (with any port) of URL u.
func linkHost(u string) string {
	host := u
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	return strings.ToLower(host)
}

// messageLinks returns the http and https URLs in text, written bare or
// in Slack's <url> and <url|label> markup.
func messageLinks(text string) []string {
	var out []string
	for _, w := range strings.Fields(text) {
		w = strings.TrimPrefix(w, "<")
		if i := strings.IndexAny(w, "|>"); i >= 0 {
			w = w[:i]
		}
		w = strings.TrimRight(w, ".,;:!?)")
		if strings.HasPrefix(w, "https://") || strings.HasPrefix(w, "http://") {
			out = append(out, w)
		}
	}
	return out
}

// findElement returns the interactive element with actionID in the block
// blockID: a section's accessory, an actions block's element or an input's
// element.
func findElement(blocks json.RawMessage, blockID, actionID string) map[string]any {
	var all []map[string]any
	if json.Unmarshal(blocks, &all) != nil {
		return nil
	}
	for _, b := range all {
		if str(b["block_id"]) != blockID {
			continue
		}
		var els []any
		els = append(els, b["accessory"], b["element"])
		els = append(els, list(b["elements"])...)
		for _, e := range els {
			if m, ok := e.(map[string]any); ok && str(m["action_id"]) == actionID {
				return m
			}
		}
	}
	return nil
}

// findOption returns the option with value among an element's options and
// option groups, or nil.
func findOption(el map[string]any, value string) map[string]any {
	opts := list(el["options"])
	for _, g := range list(el["option_groups"]) {
		if gm, ok := g.(map[string]any); ok {
			opts = append(opts, list(gm["options"])...)
		}
	}
	for _, o := range opts {
		if m, ok := o.(map[string]any); ok && str(m["value"]) == value {
			return m
		}
	}
	return nil
}
