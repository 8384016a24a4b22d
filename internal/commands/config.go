package commands

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Setting names a workspace setting changed by `/flag config`.
type Setting string

// The workspace settings `/flag config` can change.
const (
	SettingProject Setting = "project"
	SettingEnv     Setting = "env"
	// The approval policy (see Policy).
	SettingRequireReason Setting = "require-reason" // Value "on" or "off"
	SettingApprovers     Setting = "approvers"      // Value a Slack user group ID; "" lets anyone approve
	SettingApprovals     Setting = "approvals"      // Env and Count
	SettingApprovalEnvs  Setting = "approval-envs"  // Envs; nil (Value "all") means every environment
)

// maxApprovals is the most approvals `config approvals` may require.
const maxApprovals = 5

// Config sets a workspace default or a part of its approval policy.
type Config struct {
	Setting Setting
	Value   string
	Env     string   // SettingApprovals: the environment
	Count   int      // SettingApprovals: approvals required, 1 to 5
	Envs    []string // SettingApprovalEnvs: the environments needing approval
}

// ConfigResult reports a changed workspace default or policy setting. For
// policy settings Policy is the workspace's whole policy afterwards.
type ConfigResult struct {
	Setting Setting
	Value   string
	Env     string
	Count   int
	Envs    []string
	Policy  Policy
}

func (ConfigResult) result() {}

// Name implements Command.
func (Config) Name() string { return "config" }

func configSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "config",
			Usage:    "config <project|env> <key> | require-reason on|off | approvers @group|none | approvals <env> <1-5> | approval-envs <env,...|all>",
			Summary:  "Sets the workspace's default project or environment, and its approval policy: whether changes need a reason, who may approve (a user group), how many approvals an environment needs, and which environments need approval at all.",
			Examples: []string{"config project web", "config env production", "config require-reason on", "config approvals production 2", "config approval-envs production,staging", "config approval-envs all", "config approvers none"},
			Admin:    true,
		},
		parse: parseConfig,
	}
}

func parseConfig(a *parseArgs) (Command, error) {
	if len(a.pos) == 0 {
		return nil, a.usagef("`config` needs a setting and a key or value, e.g. `/flag config project web` or `/flag config require-reason on`.")
	}
	switch strings.ToLower(a.pos[0]) {
	case "require-reason", "require_reason", "requirereason":
		return parseConfigRequireReason(a)
	case "approvers", "approver":
		return parseConfigApprovers(a)
	case "approvals":
		return parseConfigApprovals(a)
	case "approval-envs", "approval_envs", "approvalenvs":
		return parseConfigApprovalEnvs(a)
	}
	if err := a.atMost(2); err != nil {
		return nil, err
	}
	if len(a.pos) < 2 {
		return nil, a.usagef("`config` needs a setting and a key, e.g. `/flag config project web` or `/flag config env production`.")
	}
	var (
		setting Setting
		what    string
	)
	switch strings.ToLower(a.pos[0]) {
	case "project":
		setting, what = SettingProject, "project key"
	case "env", "environment":
		setting, what = SettingEnv, "environment key"
	default:
		return nil, a.usagef("I can set `project`, `env`, `require-reason`, `approvers`, `approvals` or `approval-envs`, not %s.", echo(a.pos[0]))
	}
	if err := a.key(what, a.pos[1]); err != nil {
		return nil, err
	}
	return Config{Setting: setting, Value: a.pos[1]}, nil
}

func parseConfigRequireReason(a *parseArgs) (Command, error) {
	if err := a.atMost(2); err != nil {
		return nil, err
	}
	if len(a.pos) < 2 {
		return nil, a.usagef("Say `on` or `off`: `/flag config require-reason on`.")
	}
	on, ok := parseSwitch(a.pos[1])
	if !ok {
		return nil, a.usagef("`require-reason` is `on` or `off`, not %s.", echo(a.pos[1]))
	}
	return Config{Setting: SettingRequireReason, Value: onOff(on)}, nil
}

func parseConfigApprovers(a *parseArgs) (Command, error) {
	if err := a.atMost(2); err != nil {
		return nil, err
	}
	if len(a.pos) < 2 {
		return nil, a.usagef("Name a Slack user group, e.g. `/flag config approvers @release-managers`, or `none` to let anyone approve.")
	}
	v := a.pos[1]
	switch strings.ToLower(v) {
	case "none", "anyone", "everyone", "all", "off":
		return Config{Setting: SettingApprovers}, nil
	}
	id, ok := strings.CutPrefix(v, "subteam^")
	if !ok || id == "" || !validKey(id) {
		return nil, a.usagef("I need the user group as a Slack mention: type `@` and pick the group from the list (%s isn't one). `none` lets anyone approve.", echo(v))
	}
	return Config{Setting: SettingApprovers, Value: id}, nil
}

func parseConfigApprovals(a *parseArgs) (Command, error) {
	if err := a.atMost(3); err != nil {
		return nil, err
	}
	if len(a.pos) < 3 {
		return nil, a.usagef("Name an environment and a number from 1 to %d, e.g. `/flag config approvals production 2`.", maxApprovals)
	}
	if err := a.key("environment key", a.pos[1]); err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(a.pos[2])
	if err != nil || n < 1 || n > maxApprovals {
		return nil, a.usagef("The number of approvals is 1 to %d, not %s.", maxApprovals, echo(a.pos[2]))
	}
	return Config{Setting: SettingApprovals, Env: a.pos[1], Count: n}, nil
}

func parseConfigApprovalEnvs(a *parseArgs) (Command, error) {
	if len(a.pos) < 2 {
		return nil, a.usagef("List the environments that need approval, e.g. `/flag config approval-envs production,staging`, or `all`.")
	}
	// Accept "production, staging" as well as "production,staging".
	var envs []string
	for _, p := range a.pos[1:] {
		for _, e := range strings.Split(p, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if strings.EqualFold(e, "all") {
				if len(a.pos) > 2 || strings.Contains(p, ",") {
					return nil, a.usagef("`all` stands alone: `/flag config approval-envs all`.")
				}
				return Config{Setting: SettingApprovalEnvs, Value: "all"}, nil
			}
			if err := a.key("environment key", e); err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(envs, func(x string) bool { return strings.EqualFold(x, e) }) {
				envs = append(envs, e)
			}
		}
	}
	if len(envs) == 0 {
		return nil, a.usagef("List at least one environment, or `all`.")
	}
	return Config{Setting: SettingApprovalEnvs, Value: strings.Join(envs, ","), Envs: envs}, nil
}

// Run implements Command.
func (c Config) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if err := x.requireAdmin(ctx, actor, "change this workspace's settings"); err != nil {
		return nil, err
	}
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	var apply func(stored *Connection) error
	switch c.Setting {
	case SettingRequireReason, SettingApprovers, SettingApprovals, SettingApprovalEnvs:
		return c.runPolicy(ctx, x, actor, client, conn)
	case SettingProject:
		envs, err := client.ListEnvironments(ctx, c.Value)
		if err != nil {
			return nil, x.projectError(ctx, client, c.Value, err)
		}
		project := c.Value
		apply = func(stored *Connection) error {
			stored.DefaultProject = project
			if _, ok := matchEnv(envs, stored.DefaultEnv); !ok {
				stored.DefaultEnv = "" // the old default env does not exist in the new project
			}
			return nil
		}
	case SettingEnv:
		if conn.DefaultProject == "" {
			return nil, Errorf(KindInvalid, "Set a default project first: `/flag config project <key>`.")
		}
		envs, err := client.ListEnvironments(ctx, conn.DefaultProject)
		if err != nil {
			return nil, x.projectError(ctx, client, conn.DefaultProject, err)
		}
		key, ok := matchEnv(envs, c.Value)
		if !ok {
			return nil, noEnvError(conn.DefaultProject, c.Value, envKeys(envs))
		}
		c.Value = key
		project := conn.DefaultProject
		apply = func(stored *Connection) error {
			if stored.DefaultProject != project {
				return Errorf(KindConflict, "The default project changed to `%s` while I was checking; run `/flag config env %s` again.", stored.DefaultProject, key)
			}
			stored.DefaultEnv = key
			return nil
		}
	default:
		return nil, &UsageError{Msg: Textf("I can't configure %q.", c.Setting)}
	}
	// Write only what this command changes, on the connection as stored
	// now: an admin may have disconnected or reconnected while LaunchDarkly
	// was being asked, and a whole-connection Put would undo that.
	err = x.ws.Update(ctx, actor.Workspace, func(stored *Connection) error {
		if stored.TokenID != conn.TokenID || !stored.ConnectedAt.Equal(conn.ConnectedAt) || stored.Token != conn.Token {
			return Errorf(KindConflict, "This workspace was reconnected to LaunchDarkly while I was checking; run the command again.")
		}
		return apply(stored)
	})
	var cerr *Error
	switch {
	case errors.As(err, &cerr):
		return nil, err
	case errors.Is(err, ErrNotConnected):
		return nil, &Error{Kind: KindNotConnected, Err: err}
	case err != nil:
		return nil, storeError("store workspace settings", err)
	}
	return ConfigResult{Setting: c.Setting, Value: c.Value}, nil
}

// runPolicy changes one policy setting; the caller checked that actor is
// an admin.
func (c Config) runPolicy(ctx context.Context, x *Executor, actor Actor, client LaunchDarkly, conn Connection) (Result, error) {
	if x.policies == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no policy store configured")}
	}
	pol, err := x.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("read approval policy", err)
	}
	switch c.Setting {
	case SettingRequireReason:
		pol.RequireReason = c.Value == "on"
	case SettingApprovers:
		if c.Value != "" {
			if _, err := x.dir.GroupMembers(ctx, c.Value); err != nil {
				if ctx.Err() != nil {
					return nil, &Error{Kind: KindTimeout, Err: err}
				}
				return nil, &Error{Kind: KindInvalid, Msg: Notation("I can't read the members of that user group. Check that it exists and that Flagbot may read user groups."), Err: err}
			}
		}
		pol.ApproverGroup = c.Value
	case SettingApprovals:
		key, err := policyEnv(ctx, x, client, conn, c.Env)
		if err != nil {
			return nil, err
		}
		c.Env = key
		approvals := make(map[string]int, len(pol.Approvals)+1)
		for k, v := range pol.Approvals {
			if !strings.EqualFold(k, key) {
				approvals[k] = v
			}
		}
		if c.Count > 1 {
			approvals[key] = c.Count
		}
		pol.Approvals = approvals
		if len(approvals) == 0 {
			pol.Approvals = nil
		}
	case SettingApprovalEnvs:
		envs := make([]string, 0, len(c.Envs))
		for _, en := range c.Envs {
			key, err := policyEnv(ctx, x, client, conn, en)
			if err != nil {
				return nil, err
			}
			envs = append(envs, key)
		}
		if len(envs) == 0 {
			envs = nil
		}
		c.Envs, pol.ApprovalEnvs = envs, envs
		if envs != nil {
			c.Value = strings.Join(envs, ",")
		}
	}
	if err := x.policies.SetPolicy(ctx, actor.Workspace, pol); err != nil {
		return nil, storeError("store approval policy", err)
	}
	return ConfigResult{Setting: c.Setting, Value: c.Value, Env: c.Env, Count: c.Count, Envs: c.Envs, Policy: pol}, nil
}

// policyEnv checks an environment named in a policy setting against the
// default project, when there is one, and returns its canonical key. The
// policy applies to every project, so without a default it is taken as
// typed.
func policyEnv(ctx context.Context, x *Executor, client LaunchDarkly, conn Connection, key string) (string, error) {
	if conn.DefaultProject == "" {
		return key, nil
	}
	envs, err := client.ListEnvironments(ctx, conn.DefaultProject)
	if err != nil {
		return "", x.projectError(ctx, client, conn.DefaultProject, err)
	}
	k, ok := matchEnv(envs, key)
	if !ok {
		return "", noEnvError(conn.DefaultProject, key, envKeys(envs))
	}
	return k, nil
}
