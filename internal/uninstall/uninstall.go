package uninstall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flagbot/flagbot/internal/commands"
)

// Installations is the installation store; *tokenstore.Store implements
// it. Installation returns an error wrapping commands.ErrNotInstalled when
// nothing serves ws.
type Installations interface {
	Installation(ctx context.Context, ws commands.Workspace) (commands.Installation, error)
	DeleteInstallation(ctx context.Context, inst commands.Installation) error
}

// Teams lists the workspaces of an Enterprise Grid org that have data;
// *redisstore.Store implements it.
type Teams interface {
	EnterpriseTeams(ctx context.Context, enterpriseID string) ([]string, error)
}

// Forgetter forgets one workspace's data of one kind (its LaunchDarkly
// connection: *tokenstore.Store; its policy: *approvals.Policies).
type Forgetter interface {
	Forget(ctx context.Context, ws commands.Workspace) error
}

// ChangeForgetter cancels a workspace's pending change requests at now and
// says how many; *approvals.Changes implements it.
type ChangeForgetter interface {
	Forget(ctx context.Context, ws commands.Workspace, now time.Time) (int, error)
}

// DigestForgetter removes a workspace's digest subscriptions and says how
// many; *digest.RedisStore implements it.
type DigestForgetter interface {
	Forget(ctx context.Context, ws commands.Workspace) (int, error)
}

// Options tune a Service; the zero value is valid.
type Options struct {
	// Now returns the current time (default time.Now): when pending
	// changes are cancelled.
	Now func() time.Time
	// Logger receives a line per workspace forgotten (default discard).
	Logger *slog.Logger
}

// Service forgets installations and their workspaces' data. It implements
// slackapp.Uninstaller and is safe for concurrent use.
type Service struct {
	installs    Installations
	teams       Teams
	connections Forgetter
	policies    Forgetter
	changes     ChangeForgetter
	digests     DigestForgetter
	now         func() time.Time
	log         *slog.Logger
}

// New returns a Service over the stores that own an installation's data.
func New(installs Installations, teams Teams, connections, policies Forgetter, changes ChangeForgetter, digests DigestForgetter, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		installs: installs, teams: teams, connections: connections, policies: policies, changes: changes, digests: digests,
		now: opts.Now, log: opts.Logger.With("component", "uninstall"),
	}
}

// Uninstalled forgets inst, which Slack removed: first the data of every
// workspace it served, then the installation itself, so that a failure
// leaves the installation to name what remains. It goes on past a
// workspace that fails and returns every error, joined. Forgetting an
// installation that is already gone is not an error.
func (s *Service) Uninstalled(ctx context.Context, inst commands.Installation) error {
	switch {
	case inst.EnterpriseInstall && inst.EnterpriseID == "":
		return fmt.Errorf("uninstall: org-wide installation without an enterprise id")
	case !inst.EnterpriseInstall && inst.TeamID == "":
		return fmt.Errorf("uninstall: workspace installation without a team id")
	}
	wss, err := s.workspaces(ctx, inst)
	if err != nil {
		return fmt.Errorf("uninstall: %s: %w", inst, err)
	}
	var errs []error
	for _, ws := range wss {
		if err := s.forget(ctx, ws); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.installs.DeleteInstallation(ctx, inst); err != nil {
		errs = append(errs, fmt.Errorf("uninstall: %s: %w", inst, err))
	}
	return errors.Join(errs...)
}

// UninstalledFromTeam forgets the data of workspace ws, which an org-wide
// installation no longer serves; the installation stays.
func (s *Service) UninstalledFromTeam(ctx context.Context, ws commands.Workspace) error {
	if ws.TeamID == "" {
		return fmt.Errorf("uninstall: workspace without a team id")
	}
	var errs []error
	for _, w := range withLegacy(ws) {
		if err := s.forget(ctx, w); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// workspaces lists the workspaces whose data inst owns: a workspace
// installation's own workspace; every workspace of an org-wide
// installation's org without an installation of its own. Each comes with
// its keys from before it joined an org, where it has an org.
func (s *Service) workspaces(ctx context.Context, inst commands.Installation) ([]commands.Workspace, error) {
	if !inst.EnterpriseInstall {
		return withLegacy(commands.Workspace{TeamID: inst.TeamID, EnterpriseID: inst.EnterpriseID}), nil
	}
	teams, err := s.teams.EnterpriseTeams(ctx, inst.EnterpriseID)
	if err != nil {
		return nil, fmt.Errorf("list the org's workspaces: %w", err)
	}
	var out []commands.Workspace
	for _, team := range teams {
		ws := commands.Workspace{TeamID: team, EnterpriseID: inst.EnterpriseID}
		own, err := s.installs.Installation(ctx, ws)
		switch {
		case err == nil && !own.EnterpriseInstall:
			s.log.InfoContext(ctx, "keeping a workspace of the org that has its own installation", "team_id", team, "enterprise_id", inst.EnterpriseID)
			continue
		case err != nil && !errors.Is(err, commands.ErrNotInstalled) && !errors.Is(err, commands.ErrUnreadable):
			return nil, fmt.Errorf("look up the installation of team %s: %w", team, err)
		}
		out = append(out, withLegacy(ws)...)
	}
	return out, nil
}

// withLegacy returns ws and, inside an org, the same team without the org:
// where its data was kept before it joined.
func withLegacy(ws commands.Workspace) []commands.Workspace {
	if ws.EnterpriseID == "" {
		return []commands.Workspace{ws}
	}
	return []commands.Workspace{ws, {TeamID: ws.TeamID}}
}

// forget removes one workspace's data, every kind even when one fails.
func (s *Service) forget(ctx context.Context, ws commands.Workspace) error {
	var errs []error
	if err := s.connections.Forget(ctx, ws); err != nil {
		errs = append(errs, err)
	}
	if err := s.policies.Forget(ctx, ws); err != nil {
		errs = append(errs, err)
	}
	cancelled, err := s.changes.Forget(ctx, ws, s.now())
	if err != nil {
		errs = append(errs, err)
	}
	digests, err := s.digests.Forget(ctx, ws)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("uninstall: forget team %s: %w", ws.TeamID, err)
	}
	s.log.InfoContext(ctx, "forgot a workspace's data", "team_id", ws.TeamID, "enterprise_id", ws.EnterpriseID,
		"changes_cancelled", cancelled, "digests_removed", digests)
	return nil
}
