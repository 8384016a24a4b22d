package slackapp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
)

// Directory answers questions about Slack users through the Web API. Admins
// are the user IDs in FLAGBOT_ADMINS plus the workspace's own admins and
// owners as users.info reports them. It implements commands.Directory and
// Users. users.info answers are cached for userTTL, so a busy user costs
// one Web API call every few minutes, not one per command.
type Directory struct {
	api   *slack.Client
	allow map[string]bool
	now   func() time.Time

	mu    sync.Mutex
	users map[string]cachedUser
}

// userTTL is how long a users.info answer is reused. Admin rights and
// membership change rarely; a change shows within this time.
const userTTL = 5 * time.Minute

// maxCachedUsers bounds the cache; past it the oldest half is dropped.
const maxCachedUsers = 10000

type cachedUser struct {
	u  *slack.User
	at time.Time
}

// NewDirectory returns a Directory that calls the Web API with botToken and
// treats the users in allow as admins everywhere.
func NewDirectory(botToken secret.Secret, allow []string, opts Options) *Directory {
	if opts.HTTPClient == nil {
		opts.HTTPClient = newHTTPClient()
	}
	slackOpts := []slack.Option{slack.OptionHTTPClient(opts.HTTPClient)}
	if opts.APIURL != "" {
		if !strings.HasSuffix(opts.APIURL, "/") {
			opts.APIURL += "/"
		}
		slackOpts = append(slackOpts, slack.OptionAPIURL(opts.APIURL))
	}
	d := &Directory{api: slack.New(botToken.Reveal(), slackOpts...), allow: make(map[string]bool, len(allow)), now: time.Now, users: map[string]cachedUser{}}
	for _, id := range allow {
		if id = strings.TrimSpace(id); id != "" {
			d.allow[id] = true
		}
	}
	return d
}

// IsAdmin reports whether the actor may connect, disconnect and configure
// the workspace: a user in FLAGBOT_ADMINS, an admin or owner of the
// workspace, or an admin or owner of its Enterprise Grid org. A user of
// another organisation is never an admin here.
//
// users.info's is_admin and is_owner describe the user's own team (its
// team_id). In an org-wide install a Grid user also acts in the org's other
// workspaces, and there those flags say nothing: an admin of one workspace
// is not an admin of the next. So outside the user's own team only the
// org-level flags (enterprise_user) count, and a user whose team Slack does
// not name is no workspace admin anywhere.
func (d *Directory) IsAdmin(ctx context.Context, a commands.Actor) (bool, error) {
	if d.allow[a.UserID] {
		return true, nil
	}
	u, err := d.user(ctx, a.UserID)
	if err != nil {
		return false, err
	}
	if u.Deleted || foreign(u, a.Workspace) {
		return false, nil
	}
	return adminOf(u, a.Workspace), nil
}

// adminOf reports whether u, who is of ws's organisation, administers ws;
// see IsAdmin.
func adminOf(u *slack.User, ws commands.Workspace) bool {
	e := u.Enterprise
	orgAdmin := ws.EnterpriseID != "" && e.EnterpriseID == ws.EnterpriseID && (e.IsAdmin || e.IsOwner || e.IsPrimaryOwner)
	ownTeam := u.TeamID != "" && u.TeamID == ws.TeamID
	return orgAdmin || (ownTeam && (u.IsAdmin || u.IsOwner || u.IsPrimaryOwner))
}

// Who reports whether userID belongs to another organisation than ws (a
// Slack Connect partner: another team outside Enterprise Grid, or another
// org inside one), and whether they are a single- or multi-channel guest.
func (d *Directory) Who(ctx context.Context, ws commands.Workspace, userID string) (outsider, guest bool, err error) {
	u, err := d.user(ctx, userID)
	if err != nil {
		return false, false, err
	}
	return foreign(u, ws), u.IsRestricted || u.IsUltraRestricted, nil
}

// foreign reports whether u is not of ws: outside Enterprise Grid a user
// belongs to exactly one team; in a grid the same user acts across the
// org's workspaces. A user whose team Slack does not name is foreign:
// the check fails closed.
func foreign(u *slack.User, ws commands.Workspace) bool {
	switch u.TeamID {
	case ws.TeamID:
		return false
	case "":
		return true
	}
	return ws.EnterpriseID == "" || u.Enterprise.EnterpriseID != ws.EnterpriseID
}

// user returns users.info for id, from the cache while it is fresh.
func (d *Directory) user(ctx context.Context, id string) (*slack.User, error) {
	now := d.now()
	d.mu.Lock()
	c, ok := d.users[id]
	d.mu.Unlock()
	if ok && now.Sub(c.at) < userTTL {
		return c.u, nil
	}
	u, err := d.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("slackapp: users.info %s: %w", id, err)
	}
	d.mu.Lock()
	if len(d.users) >= maxCachedUsers {
		for k, v := range d.users {
			if now.Sub(v.at) >= userTTL/2 {
				delete(d.users, k)
			}
		}
		if len(d.users) >= maxCachedUsers {
			clear(d.users)
		}
	}
	d.users[id] = cachedUser{u: u, at: now}
	d.mu.Unlock()
	return u, nil
}

// DisplayName returns the name Slack shows for a user: the display name,
// else the real name, else the user name.
func (d *Directory) DisplayName(ctx context.Context, userID string) (string, error) {
	u, err := d.user(ctx, userID)
	if err != nil {
		return "", err
	}
	for _, n := range []string{u.Profile.DisplayName, u.RealName, u.Name} {
		if n = strings.TrimSpace(n); n != "" {
			return n, nil
		}
	}
	return userID, nil
}

// GroupMembers lists the members of a Slack user group.
func (d *Directory) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	ids, err := d.api.GetUserGroupMembersContext(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("slackapp: usergroups.users.list %s: %w", groupID, err)
	}
	return ids, nil
}

var (
	_ commands.Directory = (*Directory)(nil)
	_ Users              = (*Directory)(nil)
)
