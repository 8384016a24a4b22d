package slackfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The workspace is what a Slack client would show: the messages of each
// conversation (ephemeral ones only to their user), each user's stack of
// open modals and their App Home. The Web API, response_url posts and acks
// change it as Slack would; the playground reads it (Messages, Modals,
// Home) and drives it like a person (Compose, Click, SubmitView, ...).

// Message is one message in a conversation.
type Message struct {
	// Key identifies the message for its whole life, edits included:
	// channel and ts.
	Key     string
	Channel string // channel ID, or a user ID for the bot's direct messages
	TS      string
	UserID  string // the author: BotUserID for the bot
	Text    string
	// Blocks is the message's Block Kit JSON array; nil when it has none.
	// Blocks without a block_id get one, as Slack assigns them.
	Blocks json.RawMessage
	// VisibleTo is "" for a message everyone sees, or the only user who
	// sees it ("Only visible to you").
	VisibleTo string
	Edited    bool
	// Unfurls are the app's unfurls of links in the message (chat.unfurl):
	// each link's URL and the Block Kit JSON array shown under it.
	Unfurls []Unfurl
	// Via is how it arrived: chat.postMessage, chat.postEphemeral,
	// response_url, ack (a slash command's ack) or composer (typed by a
	// person), or slackbot (a notice from Slack itself).
	Via string
	// Metadata is the message metadata the bot posted with it
	// (chat.postMessage's "metadata"), nil when none.
	Metadata json.RawMessage
}

// Unfurl is how the app unfurled one link of a message.
type Unfurl struct {
	URL    string
	Blocks json.RawMessage
}

// View is a modal or an App Home the bot opened or published.
type View struct {
	ID         string
	UserID     string // whose screen it is on
	Type       string // modal or home
	CallbackID string
	ExternalID string
	// JSON is the view as the bot last sent it, with blocks normalised as
	// for Message.Blocks.
	JSON json.RawMessage
	// Values are the input values the user submitted last, by block ID and
	// action ID, in view.state.values form; the page shows them again.
	Values map[string]map[string]any
	// Errors are the inline errors of the last submission, by block ID.
	Errors map[string]string
	// Problem is what Slack would say when the bot answered a submission
	// badly or late ("" when all is well).
	Problem string
}

// Channel describes a conversation for conversations.info and the page.
// The zero values of the last three fields are a public channel the bot is
// in; see webapi_digests.go for how the others are answered.
type Channel struct {
	ID   string
	Name string // without the #
	// TeamID is the workspace the channel belongs to; "" leaves it to what
	// envelopes show (see install.go).
	TeamID    string
	ExtShared bool // a Slack Connect channel shared with another organisation
	Members   []string
	Private   bool // a private channel
	Archived  bool
	BotAbsent bool // the bot is not a member
}

// UserGroup is a Slack user group (a "subteam"), mentioned as
// <!subteam^ID>.
type UserGroup struct {
	ID      string
	Handle  string // without the @
	Name    string
	Members []string
}

// workspace is the state behind the accessors; Server.mu guards it.
type workspace struct {
	version   int
	messages  []*Message
	views     map[string]*View
	modals    map[string][]string // user -> modal view IDs, bottom first
	homes     map[string]string   // user -> home view ID
	channels  map[string]Channel
	groups    map[string]UserGroup
	envelopes map[string]pendingAck   // envelope ID -> what its ack means
	replies   map[string]responseDest // response_url ID -> where posts go
	// unfurlDomains are the hosts whose links the app unfurls (the
	// manifest's unfurl_domains); unfurlIDs maps a link_shared event's
	// unfurl_id to its message.
	unfurlDomains map[string]bool
	unfurlIDs     map[string]string
}

// pendingAck remembers an envelope whose ack Slack would act on.
type pendingAck struct {
	kind    string // slash_commands, view_submission
	user    string
	channel string
	viewID  string
}

// responseDest is where a response_url's posts go.
type responseDest struct {
	channel string
	user    string
	origKey string // the message holding the clicked element, if any
}

func newWorkspace() *workspace {
	return &workspace{
		views:     make(map[string]*View),
		modals:    make(map[string][]string),
		homes:     make(map[string]string),
		channels:  make(map[string]Channel),
		groups:    make(map[string]UserGroup),
		envelopes: make(map[string]pendingAck),
		replies:   make(map[string]responseDest),
		unfurlIDs: make(map[string]string),
	}
}

// changedLocked records a visible change. s.mu must be held.
func (s *Server) changedLocked() {
	s.ws.version++
	s.notifyLocked()
}

// Version counts visible changes to the workspace: a page re-renders when
// it moved.
func (s *Server) Version() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ws.version
}

// Changed returns a channel that is closed at the next recorded change
// (visible or not: calls and acks count too).
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Messages returns the messages of channel that viewer sees, oldest first.
func (s *Server) Messages(channel, viewer string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.ws.messages {
		if m.Channel == channel && (m.VisibleTo == "" || m.VisibleTo == viewer) {
			out = append(out, *m)
		}
	}
	return out
}

// Modals returns user's open modals, the bottom of the stack first (the
// last is the one on top).
func (s *Server) Modals(user string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, id := range s.ws.modals[user] {
		if v := s.ws.views[id]; v != nil {
			out = append(out, cloneView(v))
		}
	}
	return out
}

// Home returns the App Home view the bot published for user.
func (s *Server) Home(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.ws.views[s.ws.homes[user]]
	if v == nil {
		return View{}, false
	}
	return cloneView(v), true
}

// SetUnfurlDomains sets the hosts (a host or host:port, matched without
// case) whose links in messages people post reach the app as link_shared
// events, as the manifest's unfurl_domains do.
func (s *Server) SetUnfurlDomains(domains ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ws.unfurlDomains = make(map[string]bool, len(domains))
	for _, d := range domains {
		s.ws.unfurlDomains[strings.ToLower(d)] = true
	}
}

func cloneView(v *View) View {
	c := *v
	c.JSON = slices.Clone(v.JSON)
	return c
}

// SetChannel adds or replaces a channel; conversations.info answers for it
// (and, as before, with a generic channel for IDs never set).
func (s *Server) SetChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Members = slices.Clone(c.Members)
	s.ws.channels[c.ID] = c
	s.changedLocked()
}

// Channels returns every channel set with SetChannel, by ID order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.ws.channels))
	for _, c := range s.ws.channels {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// SetUserGroupInfo adds or replaces a user group with its handle and name
// (SetUserGroup sets members only).
func (s *Server) SetUserGroupInfo(g UserGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.Members = slices.Clone(g.Members)
	s.ws.groups[g.ID] = g
	s.groups[g.ID] = slices.Clone(g.Members)
	s.changedLocked()
}

// UserGroups returns every user group, by ID order.
func (s *Server) UserGroups() []UserGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]UserGroup, 0, len(s.groups))
	for id, members := range s.groups {
		g := s.ws.groups[id]
		g.ID, g.Members = id, slices.Clone(members)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b UserGroup) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Users returns every user, by ID order.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// LookupUser returns the user with id.
func (s *Server) LookupUser(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	return u, ok
}

// addMessageLocked appends m (normalising its blocks) and returns it.
func (s *Server) addMessageLocked(m Message) *Message {
	if m.TS == "" {
		m.TS = s.nextTSLocked()
	}
	m.Key = m.Channel + "/" + m.TS
	m.Blocks = normalizeBlocks(m.Blocks)
	p := &m
	s.ws.messages = append(s.ws.messages, p)
	s.changedLocked()
	return p
}

// findMessageLocked returns the message with key, or nil.
func (s *Server) findMessageLocked(key string) *Message {
	for _, m := range s.ws.messages {
		if m.Key == key {
			return m
		}
	}
	return nil
}

// updateMessageLocked replaces the content of the message with key; it
// reports whether there was one.
func (s *Server) updateMessageLocked(key, text string, blocks json.RawMessage) bool {
	m := s.findMessageLocked(key)
	if m == nil {
		return false
	}
	m.Text, m.Blocks, m.Edited = text, normalizeBlocks(blocks), true
	s.changedLocked()
	return true
}

func (s *Server) deleteMessageLocked(key string) {
	s.ws.messages = slices.DeleteFunc(s.ws.messages, func(m *Message) bool { return m.Key == key })
	s.changedLocked()
}

// normalizeBlocks gives every block without a block_id one, as Slack does,
// so that a click can name its block. Anything that is not a JSON array of
// objects is kept as it is (the limit checks have refused it already).
func normalizeBlocks(raw json.RawMessage) json.RawMessage {
	if isNullJSON(raw) {
		return nil
	}
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return slices.Clone(raw)
	}
	for i, b := range blocks {
		if str(b["block_id"]) == "" {
			b["block_id"] = fmt.Sprintf("sf%d", i)
		}
	}
	out, err := json.Marshal(blocks)
	if err != nil {
		return slices.Clone(raw)
	}
	return out
}

// storeViewLocked creates or replaces a view from the JSON text the bot
// sent and returns it. id "" creates a new view.
func (s *Server) storeViewLocked(id, user, rawView string) *View {
	var view map[string]any
	_ = json.Unmarshal([]byte(rawView), &view) // checked by the caller
	if blocks, err := json.Marshal(view["blocks"]); err == nil {
		view["blocks"] = json.RawMessage(normalizeBlocks(blocks))
	}
	v := s.ws.views[id]
	if v == nil {
		if id == "" {
			s.viewSeq++
			id = fmt.Sprintf("V%08d", s.viewSeq)
		}
		v = &View{ID: id, UserID: user}
		s.ws.views[id] = v
	}
	v.Type = str(view["type"])
	v.CallbackID = str(view["callback_id"])
	v.ExternalID = str(view["external_id"])
	v.Errors, v.Problem = nil, ""
	v.JSON, _ = json.Marshal(view)
	s.changedLocked()
	return v
}

// viewByIDLocked finds a view by its ID or external ID.
func (s *Server) viewByIDLocked(id string) *View {
	if v := s.ws.views[id]; v != nil {
		return v
	}
	for _, v := range s.ws.views {
		if id != "" && v.ExternalID == id {
			return v
		}
	}
	return nil
}

// closeModalLocked removes view id from its user's stack (all views above
// it go too, as in Slack); all closes every modal of the user.
func (s *Server) closeModalLocked(user, id string, all bool) {
	stack := s.ws.modals[user]
	i := slices.Index(stack, id)
	if all {
		i = 0
	}
	if i < 0 {
		return
	}
	for _, gone := range stack[i:] {
		delete(s.ws.views, gone)
	}
	s.ws.modals[user] = stack[:i]
	s.changedLocked()
}

// replyContextLocked notes where a response_url's posts go.
func (s *Server) replyContextLocked(responseURL string, d responseDest) {
	id := responseURL[strings.LastIndex(responseURL, "/")+1:]
	s.ws.replies[id] = d
}

// applyResponseLocked shows an accepted response_url post.
func (s *Server) applyResponseLocked(id string, r Response, blocks json.RawMessage) {
	d, ok := s.ws.replies[id]
	if !ok {
		return
	}
	orig := s.findMessageLocked(d.origKey)
	switch {
	case r.DeleteOriginal:
		if orig != nil {
			s.deleteMessageLocked(orig.Key)
		}
	case r.ReplaceOriginal && orig != nil:
		s.updateMessageLocked(orig.Key, r.Text, blocks)
	default:
		m := Message{Channel: d.channel, UserID: BotUserID, Text: r.Text, Blocks: blocks, Via: "response_url"}
		if r.ResponseType != "in_channel" {
			m.VisibleTo = d.user
		}
		s.addMessageLocked(m)
	}
}

// applyAckLocked does what Slack does with an ack's payload.
func (s *Server) applyAckLocked(envelopeID string, payload json.RawMessage) {
	p, ok := s.ws.envelopes[envelopeID]
	if !ok {
		return
	}
	delete(s.ws.envelopes, envelopeID)
	switch p.kind {
	case "slash_commands":
		if payload == nil {
			return
		}
		var msg struct {
			ResponseType string          `json:"response_type"`
			Text         string          `json:"text"`
			Blocks       json.RawMessage `json:"blocks"`
		}
		if json.Unmarshal(payload, &msg) != nil || (msg.Text == "" && isNullJSON(msg.Blocks)) {
			return
		}
		m := Message{Channel: p.channel, UserID: BotUserID, Text: msg.Text, Blocks: msg.Blocks, Via: "ack"}
		if msg.ResponseType != "in_channel" {
			m.VisibleTo = p.user
		}
		s.addMessageLocked(m)
	case "view_submission":
		s.applySubmissionAckLocked(p, payload)
	}
}

func (s *Server) applySubmissionAckLocked(p pendingAck, payload json.RawMessage) {
	v := s.ws.views[p.viewID]
	if v == nil {
		return
	}
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           json.RawMessage   `json:"view"`
	}
	if payload != nil && json.Unmarshal(payload, &resp) != nil {
		v.Problem = "Flagbot answered with something Slack could not read."
		s.changedLocked()
		return
	}
	switch resp.ResponseAction {
	case "":
		s.closeModalLocked(p.user, p.viewID, false)
	case "errors":
		v.Errors = resp.Errors
		v.Problem = ""
		s.changedLocked()
	case "update":
		values := v.Values
		nv := s.storeViewLocked(v.ID, p.user, string(resp.View))
		nv.Values = values
	case "push":
		nv := s.storeViewLocked("", p.user, string(resp.View))
		s.ws.modals[p.user] = append(s.ws.modals[p.user], nv.ID)
	case "clear":
		s.closeModalLocked(p.user, p.viewID, true)
	default:
		v.Problem = "Flagbot answered with an unknown response_action."
		s.changedLocked()
	}
}
