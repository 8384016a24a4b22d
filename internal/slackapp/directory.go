package slackapp

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/flagbot/flagbot/internal/commands"
	"github.com/flagbot/flagbot/internal/secret"
)

// Directory answers questions about Slack users through the Web API. Admins
// are the user IDs in FLAGBOT_ADMINS plus the workspace's own admins and
// owners as users.info reports them. It implements commands.Directory.
type Directory struct {
	api   *slack.Client
	allow map[string]bool
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
	d := &Directory{api: slack.New(botToken.Reveal(), slackOpts...), allow: make(map[string]bool, len(allow))}
	for _, id := range allow {
		if id = strings.TrimSpace(id); id != "" {
			d.allow[id] = true
		}
	}
	return d
}

// IsAdmin reports whether the actor may connect, disconnect and configure
// the workspace. A user from another workspace is never an admin here.
func (d *Directory) IsAdmin(ctx context.Context, a commands.Actor) (bool, error) {
	if d.allow[a.UserID] {
		return true, nil
	}
	u, err := d.api.GetUserInfoContext(ctx, a.UserID)
	if err != nil {
		return false, fmt.Errorf("slackapp: users.info %s: %w", a.UserID, err)
	}
	// Outside Enterprise Grid a user belongs to exactly one team; in a grid
	// the same user acts across the org's workspaces.
	foreign := a.EnterpriseID == "" && u.TeamID != "" && u.TeamID != a.TeamID
	if u.Deleted || foreign {
		return false, nil
	}
	return u.IsAdmin || u.IsOwner || u.IsPrimaryOwner, nil
}

// DisplayName returns the name Slack shows for a user: the display name,
// else the real name, else the user name.
func (d *Directory) DisplayName(ctx context.Context, userID string) (string, error) {
	u, err := d.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("slackapp: users.info %s: %w", userID, err)
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

var _ commands.Directory = (*Directory)(nil)
