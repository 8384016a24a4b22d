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
	// SettingShow (the empty setting) shows every setting.
	SettingShow    Setting = ""
	SettingProject Setting = "project"
	SettingEnv     Setting = "env"
	// The approval policy (see Policy).
	SettingRequireReason Setting = "require-reason" // Value "on" or "off"
	SettingApprovers     Setting = "approvers"      // Value a Slack user group ID; "" lets anyone approve
	SettingApprovals     Setting = "approvals"      // Env and Count
	SettingExemptEnvs    Setting = "exempt-envs"    // Project and Envs; nil (Value "none") exempts none
	SettingGuests        Setting = "guests"         // Value "on" (guests may request) or "off"
	SettingBreakglass    Setting = "breakglass"     // Value a Slack user group ID (responders); "" turns `/flag kill` off
)

// maxApprovals is the most approvals `config approvals` may require.
const maxApprovals = 5

// Config sets a workspace default or a part of its approval policy, or,
// with no setting, shows them all.
type Config struct {
	Setting Setting
	Value   string
	Env     string   // SettingApprovals: the environment
	Count   int      // SettingApprovals: approvals required, 1 to 5
	Project string   // SettingExemptEnvs: the project (default: the workspace's)
	Envs    []string // SettingExemptEnvs: the environments exempted
}

// ConfigResult reports a changed workspace default or policy setting, or
// every setting (SettingShow). For policy settings and SettingShow Policy
// is the workspace's whole policy afterwards.
type ConfigResult struct {
	Setting Setting
	Value   string
	Env     string
	Count   int
	Project string
	Envs    []string
	Policy  Policy
	// Connection holds the defaults (SettingShow).
	Connection ConnectionInfo
}

func (ConfigResult) result() {}

// Name implements Command.
func (Config) Name() string { return "config" }

func configSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "config",
			Usage:    "config [project|env <key> | require-reason on|off | approvers @group|none | approvals <env> <1-5> | exempt-envs <env,...|none> [--project p] | guests on|off | breakglass @group|none]",
			Summary:  "Shows every setting of the workspace, or sets its default project or environment and its approval policy: whether changes need a reason, who may approve (a user group), how many approvals an environment needs, which environments are exempt from approval (none by default; never a critical one), whether guests may request changes, and who may use the break-glass `/flag kill` (a user group of responders; none by default).",
			Examples: []string{"config", "config project web", "config env production", "config require-reason on", "config approvals production 2", "config exempt-envs development,staging", "config exempt-envs none --project mobile-app", "config approvers none", "config guests on", "config breakglass none"},
			Admin:    true,
		},
		options: []string{optProject},
		parse:   parseConfig,
	}
}

func parseConfig(a *parseArgs) (Command, error) {
	project, hasProject := a.opts[optProject]
	if hasProject && (len(a.pos) == 0 || !isSetting(a.pos[0], "exempt-envs")) {
		return nil, a.usagef("`--project` goes with `exempt-envs` only, e.g. `/flag config exempt-envs staging --project mobile-app`.")
	}
	if len(a.pos) == 0 {
		return Config{}, nil
	}
	switch strings.ToLower(a.pos[0]) {
	case "require-reason", "require_reason", "requirereason":
		return parseConfigRequireReason(a)
	case "approvers", "approver":
		return parseConfigApprovers(a)
	case "breakglass", "break-glass", "responders":
		return parseConfigBreakglass(a)
	case "approvals":
		return parseConfigApprovals(a)
	case "exempt-envs", "exempt_envs", "exemptenvs", "exempt":
		c, err := parseConfigExemptEnvs(a)
		if err != nil {
			return nil, err
		}
		if hasProject {
			if err := a.key("project key", project); err != nil {
				return nil, err
			}
			c.Project = project
		}
		return c, nil
	case "guests", "guest":
		if err := a.atMost(2); err != nil {
			return nil, err
		}
		if len(a.pos) < 2 {
			return nil, a.usagef("Say `on` to let guests request changes or `off`: `/flag config guests on`. Guests can never approve.")
		}
		on, ok := parseSwitch(a.pos[1])
		if !ok {
			return nil, a.usagef("`guests` is `on` or `off`, not %s.", echo(a.pos[1]))
		}
		return Config{Setting: SettingGuests, Value: onOff(on)}, nil
	case "approval-envs", "approval_envs", "approvalenvs":
		return nil, a.usagef("`approval-envs` is gone: every environment now needs approval unless an admin exempts it. Exempt environments with `/flag config exempt-envs development,staging`.")
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
		return nil, a.usagef("I can set `project`, `env`, `require-reason`, `approvers`, `approvals`, `exempt-envs`, `guests` or `breakglass`, not %s. `/flag config` alone shows them all.", echo(a.pos[0]))
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

func parseConfigBreakglass(a *parseArgs) (Command, error) {
	if err := a.atMost(2); err != nil {
		return nil, err
	}
	if len(a.pos) < 2 {
		return nil, a.usagef("Name the Slack user group of responders who may use `/flag kill`, e.g. `/flag config breakglass @oncall`, or `none` to turn it off.")
	}
	v := a.pos[1]
	switch strings.ToLower(v) {
	case "none", "off", "nobody":
		return Config{Setting: SettingBreakglass}, nil
	}
	id, ok := strings.CutPrefix(v, "subteam^")
	if !ok || id == "" || !validKey(id) {
		return nil, a.usagef("I need the user group as a Slack mention: type `@` and pick the group from the list (%s isn't one). `none` turns the kill switch off.", echo(v))
	}
	return Config{Setting: SettingBreakglass, Value: id}, nil
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

// isSetting reports whether word names setting, in any of the spellings
// the parser accepts.
func isSetting(word string, setting Setting) bool {
	w := strings.ReplaceAll(strings.ToLower(word), "_", "-")
	return w == string(setting) || strings.ReplaceAll(w, "-", "") == strings.ReplaceAll(string(setting), "-", "") || (setting == SettingExemptEnvs && w == "exempt")
}

func parseConfigExemptEnvs(a *parseArgs) (Config, error) {
	if len(a.pos) < 2 {
		return Config{}, a.usagef("List the environments whose changes apply without approval, e.g. `/flag config exempt-envs development,staging`, or `none`.")
	}
	// Accept "development, staging" as well as "development,staging".
	var envs []string
	for _, p := range a.pos[1:] {
		for _, e := range strings.Split(p, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if strings.EqualFold(e, "none") {
				if len(a.pos) > 2 || strings.Contains(p, ",") {
					return Config{}, a.usagef("`none` stands alone: `/flag config exempt-envs none`.")
				}
				return Config{Setting: SettingExemptEnvs, Value: "none"}, nil
			}
			if err := a.key("environment key", e); err != nil {
				return Config{}, err
			}
			if !slices.ContainsFunc(envs, func(x string) bool { return strings.EqualFold(x, e) }) {
				envs = append(envs, e)
			}
		}
	}
	if len(envs) == 0 {
		return Config{}, a.usagef("List at least one environment, or `none`.")
	}
	return Config{Setting: SettingExemptEnvs, Value: strings.Join(envs, ","), Envs: envs}, nil
}

// Run implements Command.
func (c Config) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if c.Setting == SettingShow {
		// Anyone may see the settings; changing them is for admins.
		return showConfig(ctx, x, actor)
	}
	if err := x.requireAdmin(ctx, actor, "change this workspace's settings"); err != nil {
		return nil, err
	}
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	var apply func(stored *Connection) error
	switch c.Setting {
	case SettingRequireReason, SettingApprovers, SettingApprovals, SettingExemptEnvs, SettingGuests, SettingBreakglass:
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

// showConfig shows every setting of actor's workspace.
func showConfig(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, err := x.connection(ctx, actor.Workspace)
	if err != nil {
		return nil, err
	}
	if x.policies == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no policy store configured")}
	}
	pol, err := x.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return nil, storeError("read approval policy", err)
	}
	return ConfigResult{Setting: SettingShow, Policy: pol, Connection: conn.Info()}, nil
}

// runPolicy changes one policy setting; the caller checked that actor is
// an admin. LaunchDarkly and Slack are asked first; the policy is then
// changed in one atomic update that touches only this setting, so two
// admins changing different settings at once keep both.
func (c Config) runPolicy(ctx context.Context, x *Executor, actor Actor, client LaunchDarkly, conn Connection) (Result, error) {
	if x.policies == nil {
		return nil, &Error{Kind: KindInternal, Err: errors.New("commands: no policy store configured")}
	}
	var apply func(p *Policy) error
	switch c.Setting {
	case SettingRequireReason:
		on := c.Value == "on"
		apply = func(p *Policy) error { p.RequireReason = on; return nil }
	case SettingGuests:
		on := c.Value == "on"
		apply = func(p *Policy) error { p.GuestsMayRequest = on; return nil }
	case SettingApprovers, SettingBreakglass:
		if c.Value != "" {
			if _, err := x.dir.GroupMembers(ctx, actor.Workspace, c.Value); err != nil {
				if ctx.Err() != nil {
					return nil, &Error{Kind: KindTimeout, Err: err}
				}
				return nil, &Error{Kind: KindInvalid, Msg: Notation("I can't read the members of that user group. Check that it exists and that Flagbot may read user groups."), Err: err}
			}
		}
		group := c.Value
		if c.Setting == SettingBreakglass {
			apply = func(p *Policy) error { p.ResponderGroup = group; return nil }
		} else {
			apply = func(p *Policy) error { p.ApproverGroup = group; return nil }
		}
	case SettingApprovals:
		key, err := policyEnv(ctx, x, client, conn, c.Env)
		if err != nil {
			return nil, err
		}
		c.Env = key
		count := c.Count
		apply = func(p *Policy) error {
			approvals := make(map[string]int, len(p.Approvals)+1)
			for k, v := range p.Approvals {
				if !strings.EqualFold(k, key) {
					approvals[k] = v
				}
			}
			if count > 1 {
				approvals[key] = count
			}
			p.Approvals = approvals
			if len(approvals) == 0 {
				p.Approvals = nil
			}
			return nil
		}
	case SettingExemptEnvs:
		proj, err := project(c.Project, conn)
		if err != nil {
			return nil, err
		}
		envs, err := exemptable(ctx, x, client, proj, c.Envs)
		if err != nil {
			return nil, err
		}
		c.Project, c.Envs = proj, envs
		if envs != nil {
			c.Value = strings.Join(envs, ",")
		}
		apply = func(p *Policy) error {
			exempt := make(map[string][]string, len(p.ExemptEnvs)+1)
			for k, v := range p.ExemptEnvs {
				if k != proj {
					exempt[k] = v
				}
			}
			if len(envs) > 0 {
				exempt[proj] = envs
			}
			p.ExemptEnvs = exempt
			if len(exempt) == 0 {
				p.ExemptEnvs = nil
			}
			p.LegacyApprovalEnvs = nil // replaced by an explicit choice
			return nil
		}
	}
	pol, err := x.policies.Update(ctx, actor.Workspace, apply)
	if err != nil {
		return nil, storeError("store approval policy", err)
	}
	return ConfigResult{Setting: c.Setting, Value: c.Value, Env: c.Env, Count: c.Count, Project: c.Project, Envs: c.Envs, Policy: pol}, nil
}

// exemptable checks the environments an admin wants exempted in project:
// each must exist, and none may be critical (its changes always need
// approval). It returns their canonical keys.
func exemptable(ctx context.Context, x *Executor, client LaunchDarkly, project string, want []string) ([]string, error) {
	if len(want) == 0 {
		return nil, nil
	}
	envs, err := client.ListEnvironments(ctx, project)
	if err != nil {
		return nil, x.projectError(ctx, client, project, err)
	}
	out := make([]string, 0, len(want))
	for _, w := range want {
		i := slices.IndexFunc(envs, func(e Environment) bool { return strings.EqualFold(e.Key, w) })
		switch {
		case i < 0:
			return nil, noEnvError(project, w, envKeys(envs))
		case envs[i].Critical:
			return nil, Errorf(KindInvalid, "`%s` is a critical environment in LaunchDarkly, so its changes always need approval; it can't be exempted.", envs[i].Key)
		}
		out = append(out, envs[i].Key)
	}
	return out, nil
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
