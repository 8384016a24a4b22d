package slackfake

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Several workspaces, each with its own installation, as a Slack app
// distributed through OAuth sees them. Options.BotToken stays the token of
// the single default installation (TeamID), which may act anywhere, as
// before. Tokens the fake issues (Install, or oauth.v2.access after the
// authorize page) belong to one installation and are refused, as Slack
// refuses them, outside it: a channel only other workspaces have used
// answers channel_not_found, a user of another installed workspace who
// never acted here answers user_not_found, and another workspace's
// trigger_id answers invalid_trigger_id. An uninstalled installation's
// token answers token_revoked.

// Defaults of the app's OAuth credentials.
const (
	DefaultClientID     = "1111111111.2222222222"
	DefaultClientSecret = "slackfake-client-secret-0c1e"
)

// Team is a workspace the fake hosts.
type Team struct {
	ID             string
	Name           string // default "Team <ID>"
	EnterpriseID   string // its Enterprise Grid org, "" outside one
	EnterpriseName string
}

// Installation is the app installed in a workspace or, with EnterpriseInstall,
// org-wide in an Enterprise Grid org.
type Installation struct {
	TeamID            string // "" for an org-wide installation
	EnterpriseID      string
	EnterpriseInstall bool
	BotUserID         string // default derived from the team or org
	// Token is the installation's bot token (set by Install).
	Token string
}

// install is an issued bot token's installation.
type install struct {
	Installation
	legacy  bool // Options.BotToken: acts anywhere
	revoked bool
}

// Authorization is what a person does on the authorize page
// (/oauth/v2/authorize): approve the install into a team (or org-wide into
// an org), or deny it.
type Authorization struct {
	TeamID            string // default TeamID
	EnterpriseID      string // default the team's org
	EnterpriseInstall bool
	UserID            string // the installer, default "UINSTALLER"
	Deny              bool
}

// oauthCode is a code the authorize page issued.
type oauthCode struct {
	auth     Authorization
	redirect string
	scope    string
	used     bool
}

// AddTeam registers a workspace (its name and org) with the fake.
func (s *Server) AddTeam(t Team) {
	if t.Name == "" {
		t.Name = "Team " + t.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teams[t.ID] = t
}

// teamLocked returns the team with id, registered or not.
func (s *Server) teamLocked(id string) Team {
	if t, ok := s.teams[id]; ok {
		return t
	}
	return Team{ID: id, Name: "Team " + id}
}

// Install installs the app without the OAuth dance and returns the
// installation with its new bot token. A second install of the same team
// (or org) revokes the earlier token, as a reinstall does.
func (s *Server) Install(in Installation) Installation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.installLocked(in)
}

func (s *Server) installLocked(in Installation) Installation {
	s.tokenSeq++
	in.Token = fmt.Sprintf("xoxb-%s-%d-slackfake", strings.ToLower(cmpOr(in.TeamID, in.EnterpriseID)), s.tokenSeq)
	return s.keepLocked(in)
}

// Adopt makes in.Token, a bot token another fake issued (Install or the
// OAuth flow there), in's installation here too, revoking this fake's
// earlier tokens of the same team (or org) as a reinstall does. Tests that
// run two bot replicas, each on its own fake's Socket Mode connection,
// use it so that both fakes accept the one installation's token.
func (s *Server) Adopt(in Installation) (Installation, error) {
	if in.Token == "" {
		return in, errors.New("slackfake: Adopt of an installation without a token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keepLocked(in), nil
}

// keepLocked records in, with its token, as the installation of its team
// (or org), revoking the earlier ones.
func (s *Server) keepLocked(in Installation) Installation {
	if in.EnterpriseInstall {
		in.TeamID = ""
	} else if in.EnterpriseID == "" {
		in.EnterpriseID = s.teamLocked(in.TeamID).EnterpriseID
	}
	if in.BotUserID == "" {
		in.BotUserID = "UB" + strings.TrimPrefix(cmpOr(in.TeamID, in.EnterpriseID), "T")
	}
	for _, old := range s.installs {
		if !old.legacy && old.TeamID == in.TeamID && old.EnterpriseID == in.EnterpriseID && old.EnterpriseInstall == in.EnterpriseInstall {
			old.revoked = true
		}
	}
	s.installs[in.Token] = &install{Installation: in}
	return in
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Installed returns the live installation that serves workspace team (its
// own, else its org's org-wide one); ok is false when there is none.
func (s *Server) Installed(team string) (Installation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.servingLocked(team)
	if in == nil {
		return Installation{}, false
	}
	return in.Installation, true
}

func (s *Server) servingLocked(team string) *install {
	ent := s.teamLocked(team).EnterpriseID
	var org *install
	for _, in := range s.installs {
		switch {
		case in.legacy || in.revoked:
		case !in.EnterpriseInstall && in.TeamID == team:
			return in
		case in.EnterpriseInstall && ent != "" && in.EnterpriseID == ent:
			org = in
		}
	}
	return org
}

// servesLocked reports whether in may act in workspace team.
func (s *Server) servesLocked(in *install, team string) bool {
	switch {
	case in.legacy:
		return true
	case in.EnterpriseInstall:
		return in.EnterpriseID != "" && s.teamLocked(team).EnterpriseID == in.EnterpriseID
	}
	return in.TeamID == team
}

// seenLocked notes that user acted in channel of team, from an envelope:
// the channel is then the team's (one of its teams, when shared), and the
// user visible to the team's installation.
func (s *Server) seenLocked(team, channel, user string) {
	if team == "" {
		return
	}
	if channel != "" {
		if s.chanTeams[channel] == nil {
			s.chanTeams[channel] = map[string]bool{}
		}
		s.chanTeams[channel][team] = true
	}
	if user != "" {
		if s.userSeen[user] == nil {
			s.userSeen[user] = map[string]bool{}
		}
		s.userSeen[user][team] = true
	}
}

// channelVisibleLocked reports whether in may use channel: it does when
// the fake knows no team of it, or one of its teams is served by in.
func (s *Server) channelVisibleLocked(in *install, channel string) bool {
	teams := s.chanTeams[channel]
	if c, ok := s.ws.channels[channel]; ok && c.TeamID != "" {
		teams = map[string]bool{c.TeamID: true}
	}
	if in.legacy || len(teams) == 0 {
		return true
	}
	for t := range teams {
		if s.servesLocked(in, t) {
			return true
		}
	}
	return false
}

// userVisibleLocked reports whether in may read user u: a user of a
// workspace it serves, of a workspace with no installation of its own, or
// one who acted in a workspace it serves (a shared channel).
func (s *Server) userVisibleLocked(in *install, u User) bool {
	if in.legacy || s.servesLocked(in, u.TeamID) || s.servingLocked(u.TeamID) == nil {
		return true
	}
	for t := range s.userSeen[u.ID] {
		if s.servesLocked(in, t) {
			return true
		}
	}
	return false
}

// isEnterpriseInstallLocked reports whether workspace team is served by an
// org-wide installation (what payloads say in is_enterprise_install).
func (s *Server) isEnterpriseInstallLocked(team string) bool {
	in := s.servingLocked(team)
	return in != nil && in.EnterpriseInstall
}

// NextAuthorization sets what the next visit of the authorize page does;
// later visits approve into TeamID as UINSTALLER unless set again.
func (s *Server) NextAuthorization(a Authorization) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextAuth = append(s.nextAuth, a)
}

// AuthorizeURL is the authorize page: Slack's /oauth/v2/authorize.
func (s *Server) AuthorizeURL() string { return s.url + "/oauth/v2/authorize" }

// handleAuthorize serves GET /oauth/v2/authorize: a person approves (or
// denies) the install, and the browser is sent back to redirect_uri with a
// code (or error=access_denied) and the state, as Slack does.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.recordTrafficLocked(r, nil)
	a := Authorization{}
	if len(s.nextAuth) > 0 {
		a, s.nextAuth = s.nextAuth[0], s.nextAuth[1:]
	}
	clientID := s.opts.ClientID
	s.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != clientID:
		http.Error(w, "invalid_client_id", http.StatusBadRequest)
		return
	case err != nil || redirect.Host == "" || (redirect.Scheme != "http" && redirect.Scheme != "https"):
		http.Error(w, "bad_redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	if a.Deny {
		back.Set("error", "access_denied")
	} else {
		if a.TeamID == "" && !a.EnterpriseInstall {
			a.TeamID = TeamID
		}
		if a.UserID == "" {
			a.UserID = "UINSTALLER"
		}
		s.mu.Lock()
		if a.EnterpriseID == "" {
			a.EnterpriseID = s.teamLocked(a.TeamID).EnterpriseID
		}
		s.codeSeq++
		code := fmt.Sprintf("%d.%d.slackfakecode", time.Now().UnixNano(), s.codeSeq)
		s.codes[code] = &oauthCode{auth: a, redirect: q.Get("redirect_uri"), scope: q.Get("scope")}
		s.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// oauthAccessLocked answers oauth.v2.access: the code's installation, with
// a new bot token. s.mu must be held.
func (s *Server) oauthAccessLocked(call *Call) reply {
	p := call.Params
	id, secret := p["client_id"], p["client_secret"]
	switch {
	case id != s.opts.ClientID:
		return errReply("invalid_client_id")
	case secret != s.opts.ClientSecret:
		return errReply("bad_client_secret")
	}
	c := s.codes[p["code"]]
	switch {
	case c == nil:
		return errReply("invalid_code")
	case c.used:
		return errReply("code_already_used")
	case p["redirect_uri"] != c.redirect:
		return errReply("bad_redirect_uri")
	}
	c.used = true
	in := s.installLocked(Installation{TeamID: c.auth.TeamID, EnterpriseID: c.auth.EnterpriseID, EnterpriseInstall: c.auth.EnterpriseInstall})
	fields := map[string]any{
		"access_token": in.Token, "token_type": "bot", "scope": c.scope, "bot_user_id": in.BotUserID, "app_id": AppID,
		"team": nil, "enterprise": nil, "is_enterprise_install": in.EnterpriseInstall,
		"authed_user": map[string]any{"id": c.auth.UserID},
	}
	if !in.EnterpriseInstall {
		t := s.teamLocked(in.TeamID)
		fields["team"] = map[string]any{"id": t.ID, "name": t.Name}
	}
	if in.EnterpriseID != "" {
		name := ""
		for _, t := range s.teams {
			if t.EnterpriseID == in.EnterpriseID && t.EnterpriseName != "" {
				name = t.EnterpriseName
			}
		}
		fields["enterprise"] = map[string]any{"id": in.EnterpriseID, "name": cmpOr(name, "Org "+in.EnterpriseID)}
	}
	return okReply(fields)
}

// Uninstall removes the installation that serves workspace team (or, with
// org set, the org-wide installation of org): its token is revoked, and the
// bot gets tokens_revoked and then app_uninstalled, as from Slack. It
// returns the removed installation; an error when there is none.
func (s *Server) Uninstall(team, org string) (Installation, error) {
	s.mu.Lock()
	var in *install
	if org != "" {
		for _, x := range s.installs {
			if !x.legacy && !x.revoked && x.EnterpriseInstall && x.EnterpriseID == org {
				in = x
			}
		}
	} else {
		in = s.servingLocked(team)
	}
	if in == nil {
		s.mu.Unlock()
		return Installation{}, fmt.Errorf("slackfake: uninstall %s%s: %w", team, org, ErrNotFound)
	}
	in.revoked = true
	inst := in.Installation
	s.mu.Unlock()
	if _, err := s.Event(inst, map[string]any{"type": "tokens_revoked", "tokens": map[string]any{"oauth": []string{}, "bot": []string{inst.BotUserID}}}); err != nil {
		return inst, err
	}
	_, err := s.Event(inst, map[string]any{"type": "app_uninstalled"})
	return inst, err
}

// Event sends an events_api envelope carrying event (its "type" and
// fields) for installation in: the outer event names the installation's
// team and org and lists it in authorizations. It returns the envelope ID.
func (s *Server) Event(in Installation, event map[string]any) (string, error) {
	s.mu.Lock()
	s.envelopeSeq++
	eventID := fmt.Sprintf("Ev%08d", s.envelopeSeq)
	if _, ok := event["event_ts"]; !ok {
		event["event_ts"] = s.nextTSLocked()
	}
	s.mu.Unlock()
	var team, ent any
	if in.TeamID != "" {
		team = in.TeamID
	}
	if in.EnterpriseID != "" {
		ent = in.EnterpriseID
	}
	outer := map[string]any{
		"token": "slackfake-verification-token", "team_id": cmpOr(in.TeamID, in.EnterpriseID), "api_app_id": AppID,
		"event": event, "type": "event_callback", "event_id": eventID, "event_time": time.Now().Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": ent, "team_id": team, "user_id": cmpOr(in.BotUserID, BotUserID), "is_bot": true,
			"is_enterprise_install": in.EnterpriseInstall,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "slackfake-" + eventID,
	}
	if in.EnterpriseID != "" {
		outer["enterprise_id"] = in.EnterpriseID
	}
	return s.Send("events_api", outer, false)
}
