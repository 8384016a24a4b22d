package slackfake

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SlashCommand describes a slash command invocation.
type SlashCommand struct {
	TeamID       string // default TeamID
	EnterpriseID string // "" outside an Enterprise Grid org
	ChannelID    string
	UserID       string
	UserName     string
	Command      string // default "/flag"
	Text         string
}

// SlashCommand sends a "slash_commands" envelope whose payload is Slack's
// form fields as a JSON object (all strings, as Slack sends them), with a
// fresh loopback response_url and trigger_id. It returns the envelope ID.
func (s *Server) SlashCommand(c SlashCommand) (string, error) {
	if c.TeamID == "" {
		c.TeamID = TeamID
	}
	if c.Command == "" {
		c.Command = "/flag"
	}
	s.mu.Lock()
	responseURL, triggerID := s.newResponseURLLocked(), s.newTriggerIDLocked()
	s.triggers[triggerID].user, s.triggers[triggerID].team = c.UserID, c.TeamID
	s.replyContextLocked(responseURL, responseDest{channel: c.ChannelID, user: c.UserID})
	s.seenLocked(c.TeamID, c.ChannelID, c.UserID)
	orgWide := s.isEnterpriseInstallLocked(c.TeamID)
	c.EnterpriseID = cmpOr(c.EnterpriseID, s.teamLocked(c.TeamID).EnterpriseID)
	s.mu.Unlock()
	p := map[string]any{
		"token":                 "slackfake-verification-token",
		"team_id":               c.TeamID,
		"team_domain":           "team-" + strings.ToLower(c.TeamID),
		"channel_id":            c.ChannelID,
		"channel_name":          "channel-" + strings.ToLower(c.ChannelID),
		"user_id":               c.UserID,
		"user_name":             c.UserName,
		"command":               c.Command,
		"text":                  c.Text,
		"api_app_id":            AppID,
		"is_enterprise_install": fmt.Sprint(orgWide),
		"response_url":          responseURL,
		"trigger_id":            triggerID,
	}
	if c.EnterpriseID != "" {
		p["enterprise_id"] = c.EnterpriseID
		p["enterprise_name"] = "enterprise-" + strings.ToLower(c.EnterpriseID)
	}
	return s.sendExpecting("slash_commands", p, true, pendingAck{kind: "slash_commands", user: c.UserID, channel: c.ChannelID})
}

// Interactive sends an "interactive" envelope with payload as it is
// (block_actions, view_submission, block_suggestion, ...). Use
// NewResponseURL and NewTriggerID for the URLs and triggers inside it.
// accepts_response_payload is false for block_actions and true otherwise,
// as Slack sends them.
func (s *Server) Interactive(payload any) (string, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("slackfake: marshal interactive payload: %w", err)
	}
	var top struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &top)
	return s.Send("interactive", json.RawMessage(raw), top.Type != "block_actions")
}

// BlockAction describes a click on a button in a message the bot posted.
type BlockAction struct {
	TeamID       string // default TeamID
	EnterpriseID string // "" outside an Enterprise Grid org
	UserID       string
	UserName     string // default UserID
	UserTeamID   string // the clicker's own team (Slack Connect); default TeamID
	ChannelID    string
	ActionID     string
	BlockID      string
	Value        string
	MessageTS    string // ts of the message holding the button
}

// BlockAction sends a realistic block_actions interactive envelope for one
// button click, with a fresh response_url and trigger_id.
func (s *Server) BlockAction(a BlockAction) (string, error) {
	if a.TeamID == "" {
		a.TeamID = TeamID
	}
	if a.UserTeamID == "" {
		a.UserTeamID = a.TeamID
	}
	if a.UserName == "" {
		a.UserName = a.UserID
	}
	s.mu.Lock()
	responseURL, triggerID := s.newResponseURLLocked(), s.newTriggerIDLocked()
	s.triggers[triggerID].user, s.triggers[triggerID].team = a.UserID, a.TeamID
	s.replyContextLocked(responseURL, responseDest{channel: a.ChannelID, user: a.UserID, origKey: a.ChannelID + "/" + a.MessageTS})
	s.seenLocked(a.TeamID, a.ChannelID, a.UserID)
	orgWide := s.isEnterpriseInstallLocked(a.TeamID)
	a.EnterpriseID = cmpOr(a.EnterpriseID, s.teamLocked(a.TeamID).EnterpriseID)
	actionTS := s.nextTSLocked()
	s.mu.Unlock()
	p := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": a.UserID, "username": a.UserName, "name": a.UserName, "team_id": a.UserTeamID},
		"api_app_id": AppID,
		"token":      "slackfake-verification-token",
		"container": map[string]any{
			"type": "message", "message_ts": a.MessageTS, "channel_id": a.ChannelID, "is_ephemeral": false,
		},
		"trigger_id":            triggerID,
		"team":                  map[string]any{"id": a.TeamID, "domain": "team-" + strings.ToLower(a.TeamID)},
		"enterprise":            enterprise(a.EnterpriseID),
		"is_enterprise_install": orgWide,
		"channel":               map[string]any{"id": a.ChannelID, "name": "channel-" + strings.ToLower(a.ChannelID)},
		"message": map[string]any{
			"type": "message", "subtype": "bot_message", "ts": a.MessageTS, "user": BotUserID, "bot_id": BotID, "text": "",
		},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": responseURL,
		"actions": []any{map[string]any{
			"type":      "button",
			"action_id": a.ActionID,
			"block_id":  a.BlockID,
			"text":      map[string]any{"type": "plain_text", "text": a.ActionID, "emoji": true},
			"value":     a.Value,
			"action_ts": actionTS,
		}},
	}
	return s.Send("interactive", p, false)
}

// ViewSubmission describes the submission of a modal the bot opened.
type ViewSubmission struct {
	TeamID          string // default TeamID
	EnterpriseID    string // "" outside an Enterprise Grid org
	UserID          string
	CallbackID      string
	PrivateMetadata string
	// Values is view.state.values: block ID -> action ID -> element state,
	// e.g. {"flag_block": {"flag": {"type": "plain_text_input", "value": "x"}}}.
	Values map[string]map[string]any
}

// ViewSubmission sends a view_submission interactive envelope.
func (s *Server) ViewSubmission(v ViewSubmission) (string, error) {
	if v.TeamID == "" {
		v.TeamID = TeamID
	}
	values := v.Values
	if values == nil {
		values = map[string]map[string]any{}
	}
	s.mu.Lock()
	s.viewSeq++
	viewID := fmt.Sprintf("V%08d", s.viewSeq)
	triggerID := s.newTriggerIDLocked()
	s.triggers[triggerID].user, s.triggers[triggerID].team = v.UserID, v.TeamID
	s.seenLocked(v.TeamID, "", v.UserID)
	orgWide := s.isEnterpriseInstallLocked(v.TeamID)
	v.EnterpriseID = cmpOr(v.EnterpriseID, s.teamLocked(v.TeamID).EnterpriseID)
	s.mu.Unlock()
	p := map[string]any{
		"type":       "view_submission",
		"team":       map[string]any{"id": v.TeamID, "domain": "team-" + strings.ToLower(v.TeamID)},
		"user":       map[string]any{"id": v.UserID, "username": v.UserID, "name": v.UserID, "team_id": v.TeamID},
		"api_app_id": AppID,
		"token":      "slackfake-verification-token",
		"trigger_id": triggerID,
		"view": map[string]any{
			"id":               viewID,
			"team_id":          v.TeamID,
			"type":             "modal",
			"callback_id":      v.CallbackID,
			"private_metadata": v.PrivateMetadata,
			"blocks":           []any{},
			"state":            map[string]any{"values": values},
			"hash":             "1700000000.slackfake",
			"app_id":           AppID,
			"bot_id":           BotID,
		},
		"response_urls":         []any{},
		"is_enterprise_install": orgWide,
		"enterprise":            enterprise(v.EnterpriseID),
	}
	return s.Send("interactive", p, true)
}

// enterprise is an interaction payload's "enterprise": null outside an
// Enterprise Grid org.
func enterprise(id string) any {
	if id == "" {
		return nil
	}
	return map[string]any{"id": id, "name": "enterprise-" + strings.ToLower(id)}
}
