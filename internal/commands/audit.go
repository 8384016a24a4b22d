package commands

import (
	"context"
	"strconv"
	"time"
)

// Audit lists recent audit-log entries.
type Audit struct {
	Project string
	Flag    string
	Env     string
	Since   time.Duration // zero means the default window
	Limit   int           // zero means the default
	Output
}

// AuditResult lists audit-log entries, newest first.
type AuditResult struct {
	Query   Audit // with defaults filled in
	Since   time.Time
	Entries []AuditEntry
	BaseURL string
}

func (AuditResult) result() {}

// Name implements Command.
func (Audit) Name() string { return "audit" }

func auditSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "audit",
			Usage:    "audit [--flag f] [--env e] [--since 24h] [--limit n] [--project p]",
			Summary:  "Lists recent changes from the LaunchDarkly audit log. `--since` takes minutes, hours or days (`90m`, `36h`, `7d`, at most `30d`); `--limit` 1 to 50.",
			Examples: []string{"audit", "audit --flag new-checkout --since 7d", "audit --env production --since=36h --limit 20 --share"},
		},
		options: readOptions(optFlag, optEnv, optSince, optLimit, optProject),
		parse:   parseAudit,
	}
}

func parseAudit(a *parseArgs) (Command, error) {
	if len(a.pos) > 0 {
		if validKey(a.pos[0]) && len(a.pos[0]) <= maxEchoRunes {
			return nil, a.usagef("`audit` takes only options. For one flag's changes, write `/flag audit --flag %s`.", a.pos[0])
		}
		return nil, a.atMost(0)
	}
	c := Audit{Output: a.output()}
	var err error
	if c.Flag, err = a.optionKey(optFlag, "flag key"); err != nil {
		return nil, err
	}
	if c.Env, err = a.optionKey(optEnv, "environment key"); err != nil {
		return nil, err
	}
	if c.Project, err = a.optionKey(optProject, "project key"); err != nil {
		return nil, err
	}
	if v, ok := a.opts[optSince]; ok {
		d, ok := parseAuditSince(v)
		switch {
		case !ok:
			return nil, a.usagef("I can't read %s as a time span. Use minutes, hours or days, e.g. `--since 90m`, `--since 36h` or `--since 7d`.", echo(v))
		case d <= 0:
			return nil, a.usagef("`--since` must be longer than zero, e.g. `--since 24h`.")
		case d > maxAuditSince:
			return nil, a.usagef("`--since` goes back at most 30 days (`--since 30d`).")
		}
		c.Since = d
	}
	if v, ok := a.opts[optLimit]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditLimit {
			return nil, a.usagef("`--limit` is a number from 1 to %d, not %s.", maxAuditLimit, echo(v))
		}
		c.Limit = n
	}
	return c, nil
}

// Run implements Command.
func (c Audit) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	if c.Project, err = project(c.Project, conn); err != nil {
		return nil, err
	}
	if c.Since <= 0 {
		c.Since = defaultAuditWindow
	}
	if c.Limit <= 0 {
		c.Limit = defaultAuditLimit
	}
	since := x.opts.Now().Add(-c.Since)
	entries, err := client.ListAuditLog(ctx, AuditQuery{
		Spec:  AuditSpec(c.Project, c.Env, c.Flag),
		After: since,
		Limit: c.Limit,
	})
	if err != nil {
		return nil, serviceError(ctx, err)
	}
	return AuditResult{Query: c, Since: since, Entries: entries, BaseURL: x.opts.BaseURL}, nil
}

// AuditSpec builds a LaunchDarkly resource specifier for flags in project,
// narrowed to an environment and a flag when given.
func AuditSpec(project, env, flag string) string {
	if env == "" {
		env = "*"
	}
	if flag == "" {
		flag = "*"
	}
	return "proj/" + project + ":env/" + env + ":flag/" + flag
}
