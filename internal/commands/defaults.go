package commands

import (
	"context"
	"slices"
	"strings"
)

// Every LaunchDarkly account has projects, so a workspace connected with
// only a token still gets sensible defaults: at connect (Executor.Connect),
// and for connections stored without a default project, on first use (any
// command that reads LaunchDarkly through the connection), where the
// choice is stored and said once (see Noticed).

// DefaultReason says why a default project or environment was chosen.
type DefaultReason string

// The reasons a default is chosen; the zero value means none was.
const (
	ReasonTyped         DefaultReason = "typed"          // the admin typed it
	ReasonOnlyProject   DefaultReason = "only"           // the only project the token sees
	ReasonNamedDefault  DefaultReason = "named-default"  // the project with key "default"
	ReasonFirstByName   DefaultReason = "first-by-name"  // the first project by name
	ReasonProduction    DefaultReason = "production"     // the environment with key "production"
	ReasonFirstCritical DefaultReason = "first-critical" // the first environment LaunchDarkly marks critical
)

// DefaultsChoice is how a workspace's default project and environment were
// chosen. Project is "" when none could be (the token sees no project, or
// may not list them); Env is "" when the project has no environment that
// qualifies.
type DefaultsChoice struct {
	Project       string
	ProjectReason DefaultReason
	Env           string
	EnvReason     DefaultReason
	// Projects is how many projects the token sees (0 when unknown).
	Projects int
}

// maxNamedKeys is how many existing keys a "no such project" answer names.
const maxNamedKeys = 5

// Inferred reports whether Flagbot chose at least one of the defaults
// itself rather than taking what the admin typed.
func (d DefaultsChoice) Inferred() bool {
	return (d.Project != "" && d.ProjectReason != ReasonTyped) || (d.Env != "" && d.EnvReason != ReasonTyped)
}

// Text says what was chosen and why, as one sentence ending with how to
// change it; empty when no project was chosen.
func (d DefaultsChoice) Text() Text {
	if d.Project == "" {
		return nil
	}
	var why Text
	switch d.ProjectReason {
	case ReasonOnlyProject:
		why = Notation(" (the only project this token can see)")
	case ReasonNamedDefault:
		why = Notation(" (the project with key `default`)")
	case ReasonFirstByName:
		why = Textf(" (the first of its %d projects by name)", d.Projects)
	}
	t := Textf("Default project `%s`%s", d.Project, why)
	switch d.EnvReason {
	case ReasonTyped:
		t = t.Append(Textf(", environment `%s`.", d.Env)...)
	case ReasonProduction:
		t = t.Append(Textf(", environment `%s`.", d.Env)...)
	case ReasonFirstCritical:
		t = t.Append(Textf(", environment `%s` (its first critical environment).", d.Env)...)
	default:
		t = t.Append(Notation(", no default environment (it has no `production` or critical one): commands name one, or set it with `/flag config env <key>`.")...)
		return t
	}
	return t.Append(Notation(" Change them with `/flag config project <key>` and `/flag config env <key>`.")...)
}

// inferDefaults chooses a default project and environment with client:
// typedProject must exist (a *FieldError for FieldProject naming up to
// five existing keys otherwise), or else the only project, the one with key
// "default", or the first by name; typedEnv must exist in that project (a
// *FieldError for FieldEnv), or else "production", or else the first
// critical environment, or none. Other errors are LaunchDarkly's, as is.
func inferDefaults(ctx context.Context, client ProjectReader, typedProject, typedEnv string) (DefaultsChoice, error) {
	projects, err := client.ListProjects(ctx)
	d, _, err := chooseDefaults(ctx, client, projects, err, typedProject, typedEnv)
	return d, err
}

// chooseDefaults is inferDefaults with the projects (or the error) that
// ListProjects answered; it also returns the chosen project's
// environments.
func chooseDefaults(ctx context.Context, client ProjectReader, projects []Project, err error, typedProject, typedEnv string) (DefaultsChoice, []Environment, error) {
	var d DefaultsChoice
	switch {
	case KindOf(err) == KindForbidden && typedProject != "":
		// A narrow role may read a project without listing them all.
		d.Project, d.ProjectReason = typedProject, ReasonTyped
	case KindOf(err) == KindForbidden:
		return DefaultsChoice{}, nil, nil
	case err != nil:
		return DefaultsChoice{}, nil, err
	default:
		d.Projects = len(projects)
		if typedProject != "" {
			i := slices.IndexFunc(projects, func(p Project) bool { return strings.EqualFold(p.Key, typedProject) })
			if i < 0 {
				return DefaultsChoice{}, nil, &FieldError{Field: FieldProject, Msg: unknownProjectMsg(typedProject, projects)}
			}
			d.Project, d.ProjectReason = projects[i].Key, ReasonTyped
		} else if p, why := pickProject(projects); p != "" {
			d.Project, d.ProjectReason = p, why
		} else {
			return DefaultsChoice{}, nil, nil
		}
	}
	envs, err := client.ListEnvironments(ctx, d.Project)
	switch {
	case KindOf(err) == KindNotFound:
		return DefaultsChoice{}, nil, &FieldError{Field: FieldProject, Msg: Textf("LaunchDarkly has no project %q (or this token can't see it).", d.Project), Err: err}
	case err != nil:
		return DefaultsChoice{}, nil, err
	}
	if typedEnv != "" {
		key, ok := matchEnv(envs, typedEnv)
		if !ok {
			return DefaultsChoice{}, nil, &FieldError{Field: FieldEnv, Msg: Textf("Project %q has no environment %q. It has: %s.", d.Project, typedEnv, strings.Join(envKeys(envs), ", "))}
		}
		d.Env, d.EnvReason = key, ReasonTyped
		return d, envs, nil
	}
	d.Env, d.EnvReason = pickEnv(envs)
	return d, envs, nil
}

// pickProject chooses among projects: the only one, else the one with key
// "default", else the first by name (then key).
func pickProject(projects []Project) (string, DefaultReason) {
	switch len(projects) {
	case 0:
		return "", ""
	case 1:
		return projects[0].Key, ReasonOnlyProject
	}
	for _, p := range projects {
		if strings.EqualFold(p.Key, "default") {
			return p.Key, ReasonNamedDefault
		}
	}
	byName := slices.Clone(projects)
	slices.SortStableFunc(byName, func(a, b Project) int {
		if c := strings.Compare(strings.ToLower(nameOrKey(a)), strings.ToLower(nameOrKey(b))); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return byName[0].Key, ReasonFirstByName
}

func nameOrKey(p Project) string {
	if p.Name != "" {
		return p.Name
	}
	return p.Key
}

// pickEnv chooses a default environment: "production", else the first
// critical one in LaunchDarkly's order, else none.
func pickEnv(envs []Environment) (string, DefaultReason) {
	if key, ok := matchEnv(envs, "production"); ok {
		return key, ReasonProduction
	}
	for _, e := range envs {
		if e.Critical {
			return e.Key, ReasonFirstCritical
		}
	}
	return "", ""
}

// unknownProjectMsg says typed is no project, naming up to five that exist:
// the closest first.
func unknownProjectMsg(typed string, projects []Project) Text {
	keys := make([]string, len(projects))
	for i, p := range projects {
		keys[i] = p.Key
	}
	named := closest(typed, keys)
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	for _, k := range sorted {
		if len(named) == maxNamedKeys {
			break
		}
		if !slices.Contains(named, k) {
			named = append(named, k)
		}
	}
	if len(named) == 0 {
		return Textf("LaunchDarkly has no project %q (or this token can't see it), and this token sees no project at all.", typed)
	}
	more := ""
	if len(keys) > len(named) {
		more = ", …"
	}
	return Textf("LaunchDarkly has no project %q (or this token can't see it). It has: %s%s.", typed, strings.Join(named, ", "), more)
}

// adoptDefaults gives conn, stored without a default project, the defaults
// inferDefaults chooses, stores them (unless another writer set a default
// first) and notes what it chose for the command's reply. A failure leaves
// conn as it was: the command then asks for a project as before.
func (e *Executor) adoptDefaults(ctx context.Context, ws Workspace, conn Connection, client ProjectReader) Connection {
	d, err := inferDefaults(ctx, client, "", "")
	if err != nil || d.Project == "" {
		return conn
	}
	adopted := false
	err = e.ws.Update(ctx, ws, func(c *Connection) error {
		adopted = false
		if c.DefaultProject != "" || c.Token != conn.Token {
			return nil
		}
		c.DefaultProject, c.DefaultEnv = d.Project, d.Env
		adopted = true
		return nil
	})
	if err != nil || !adopted {
		if err == nil {
			if fresh, gerr := e.ws.Get(ctx, ws); gerr == nil {
				return fresh
			}
		}
		return conn
	}
	conn.DefaultProject, conn.DefaultEnv = d.Project, d.Env
	if e.notice != nil {
		*e.notice = Notation("This workspace had no default project, so I chose one. ").Append(d.Text()...)
	}
	return conn
}
