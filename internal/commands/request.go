package commands

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// Request opens the request form: a change request made by picking the
// flag, the environment and what to do instead of typing the syntax.
// `/flag` on its own runs it. The form's submission becomes, through
// RequestForm.Command, the very change command the same request typed as
// text would be, and runs through Execute like it.
type Request struct {
	Project string
	Flag    string
	Env     string
	// Action pre-selects what to do (a "Turn off" button); empty lets the
	// form propose one.
	Action RequestAction
}

// RequestAction is what a change requested through the form does.
type RequestAction string

// The actions the form offers, one per change subcommand (target twice:
// add and remove).
const (
	RequestOn           RequestAction = "on"
	RequestOff          RequestAction = "off"
	RequestServe        RequestAction = "serve"
	RequestRollout      RequestAction = "rollout"
	RequestOffVariation RequestAction = "offvariation"
	RequestTargetAdd    RequestAction = "target-add"
	RequestTargetRemove RequestAction = "target-remove"
	RequestCreate       RequestAction = "create"
	RequestArchive      RequestAction = "archive"
	RequestRestore      RequestAction = "restore"
	RequestDelete       RequestAction = "delete"
)

// RequestActions lists every action, in the order the form offers them.
func RequestActions() []RequestAction {
	return []RequestAction{RequestOn, RequestOff, RequestServe, RequestRollout, RequestOffVariation,
		RequestTargetAdd, RequestTargetRemove, RequestCreate, RequestArchive, RequestRestore, RequestDelete}
}

// Valid reports whether a is one of RequestActions.
func (a RequestAction) Valid() bool { return slices.Contains(RequestActions(), a) }

// Subcommand is the name of the change subcommand a becomes.
func (a RequestAction) Subcommand() string {
	switch a {
	case RequestTargetAdd, RequestTargetRemove:
		return "target"
	}
	return string(a)
}

// NeedsFlag reports whether a acts on an existing flag (all but create).
func (a RequestAction) NeedsFlag() bool { return a != RequestCreate }

// NeedsEnv reports whether a changes one environment.
func (a RequestAction) NeedsEnv() bool {
	switch a {
	case RequestCreate, RequestArchive, RequestRestore, RequestDelete:
		return false
	}
	return true
}

// NeedsVariation reports whether a names one variation.
func (a RequestAction) NeedsVariation() bool {
	switch a {
	case RequestServe, RequestOffVariation, RequestTargetAdd, RequestTargetRemove:
		return true
	}
	return false
}

// RequestModal is the request form to show: the project it works in, the
// environments to choose from and the one chosen, the action, and once a
// flag is chosen, the flag (every environment) and its variations.
type RequestModal struct {
	Project       string
	Envs          []Environment
	Env           string
	Action        RequestAction
	Flag          *Flag
	Variations    []VariationChoice
	RequireReason bool
}

// VariationChoice is one variation as the form offers it: Ref names it the
// way a typed command would (its name, value or index) and Label is what
// people read.
type VariationChoice struct {
	Ref   string
	Label string
}

func (RequestModal) result() {}

// Name implements Command.
func (Request) Name() string { return "request" }

func requestSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "request",
			Usage:    "request [flag] [env] [--project p]",
			Summary:  "Opens a form to request any change without typing its syntax: pick the flag (type part of its key, name or a tag), the environment and what to do. `/flag` on its own opens it too.",
			Examples: []string{"request", "request new-checkout production"},
		},
		options: []string{optProject, optEnv},
		parse:   parseRequest,
	}
}

func parseRequest(a *parseArgs) (Command, error) {
	if err := a.atMost(2); err != nil {
		return nil, err
	}
	c := Request{}
	if len(a.pos) > 0 {
		c.Flag = a.pos[0]
		if err := a.key("flag key", c.Flag); err != nil {
			return nil, err
		}
	}
	var err error
	if c.Env, err = a.pick(1, optEnv, "environment"); err != nil {
		return nil, err
	}
	if c.Project, err = a.optionKey(optProject, "project key"); err != nil {
		return nil, err
	}
	return c, nil
}

// maxVariationRef is the longest variation value used as a ref; longer
// values are named by index (a select option's value holds 150 characters).
const maxVariationRef = 100

// Run implements Command: it checks the actor may request changes (a
// Reader token, a guest where guests may not, are refused before the form
// opens) and returns the form, filled from LaunchDarkly.
func (c Request) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	pol, err := x.mayRequest(ctx, actor, conn, false)
	if err != nil {
		return nil, err
	}
	p, err := project(c.Project, conn)
	if err != nil {
		return nil, err
	}
	envs, err := x.projectEnvironments(ctx, actor.Workspace, conn, client, p)
	if err != nil {
		return nil, x.projectError(ctx, client, p, err)
	}
	m := RequestModal{Project: p, Envs: envs, Action: c.Action, RequireReason: pol.RequireReason}
	if c.Env != "" {
		key, ok := matchEnv(envs, c.Env)
		if !ok {
			return nil, noEnvError(p, c.Env, envKeys(envs))
		}
		m.Env = key
	} else {
		m.Env = formEnv(envs, conn, p)
	}
	if c.Flag != "" {
		f, err := x.findFlag(ctx, client, p, c.Flag)
		if err != nil {
			return nil, err
		}
		m.Flag = &f
		m.Variations = variationChoices(f)
	}
	if !m.Action.Valid() {
		m.Action = proposeAction(m.Flag, m.Env)
	}
	return m, nil
}

// formEnv is the environment the form starts with: the workspace's default
// (in its default project), else production, else the first.
func formEnv(envs []Environment, conn Connection, p string) string {
	if strings.EqualFold(p, conn.DefaultProject) {
		if key, ok := matchEnv(envs, conn.DefaultEnv); ok {
			return key
		}
	}
	if key, ok := matchEnv(envs, "production"); ok {
		return key
	}
	if len(envs) > 0 {
		return envs[0].Key
	}
	return ""
}

// proposeAction is the action the form starts with: the likely next step
// for the flag, turning it off where it is on and on where it is off, and
// restoring an archived one.
func proposeAction(f *Flag, env string) RequestAction {
	switch {
	case f == nil:
		return RequestOn
	case f.Archived:
		return RequestRestore
	case f.Environments[env].On:
		return RequestOff
	}
	return RequestOn
}

// variationChoices names f's variations for the form.
func variationChoices(f Flag) []VariationChoice {
	out := make([]VariationChoice, len(f.Variations))
	for i := range f.Variations {
		out[i] = VariationChoice{Ref: variationRef(f, i), Label: variationLabel(f, i)}
	}
	return out
}

// variationRef names variation i of f so that resolveVariation finds it
// again: its name, else its value, else its index.
func variationRef(f Flag, i int) string {
	v := f.Variations[i]
	if v.Name != "" {
		if j, err := resolveVariation(f, v.Name); err == nil && j == i {
			return v.Name
		}
	}
	if s := valueText(v.Value); s != "" && len(s) <= maxVariationRef && strings.TrimSpace(s) == s {
		if j, err := resolveVariation(f, s); err == nil && j == i {
			return s
		}
	}
	return strconv.Itoa(i)
}

// RequestForm is what was filled in the request form. Command turns it
// into the change command that the same request typed as `/flag …` text
// parses to, through the same parser: no second way to make a request.
type RequestForm struct {
	Project   string
	Action    RequestAction
	Flag      string
	Env       string
	Variation string         // a VariationChoice.Ref
	Rollout   []RolloutShare // one per variation; blank percentages are left out
	Contexts  string         // kind:key (a bare key is a user), separated by commas or spaces
	Reason    string
	// Create's fields.
	NewKey        string
	NewName       string
	NewKind       string // a FlagKind constant; empty means boolean
	NewVariations string // comma-separated values
	NewTags       string // comma-separated tags
	Temporary     bool
}

// RolloutShare is one variation's percentage as typed in the form.
type RolloutShare struct {
	Variation string // a VariationChoice.Ref
	Percent   string
}

// Command returns the change command f stands for. Problems are
// *FieldError values naming the form field to fix.
func (f RequestForm) Command() (ChangeCommand, error) {
	if !f.Action.Valid() {
		return nil, fieldError(FieldAction, "Choose what to do.")
	}
	opts := map[string]string{}
	if p := strings.TrimSpace(f.Project); p != "" {
		opts[optProject] = p
	}
	if r := strings.TrimSpace(f.Reason); r != "" {
		opts[optReason] = r
	}
	var pos []string
	if f.Action == RequestCreate {
		key := strings.TrimSpace(f.NewKey)
		if key == "" {
			return nil, fieldError(FieldNewKey, "Type the new flag's key.")
		}
		pos = append(pos, key)
		if n := strings.TrimSpace(f.NewName); n != "" {
			pos = append(pos, n)
		}
		if k := strings.TrimSpace(f.NewKind); k != "" {
			opts[optKind] = k
		}
		if v := strings.TrimSpace(f.NewVariations); v != "" {
			opts[optVariations] = v
		}
		if t := strings.TrimSpace(f.NewTags); t != "" {
			opts[optTags] = t
		}
		if f.Temporary {
			opts[optTemporary] = "true"
		}
		return formCommand(f.Action, pos, opts)
	}
	flag := strings.TrimSpace(f.Flag)
	if flag == "" {
		return nil, fieldError(FieldFlag, "Choose a flag: type part of its key, name or a tag.")
	}
	pos = append(pos, flag)
	env := strings.TrimSpace(f.Env)
	if f.Action.NeedsEnv() && env == "" {
		return nil, fieldError(FieldEnv, "Choose an environment.")
	}
	variation := strings.TrimSpace(f.Variation)
	if f.Action.NeedsVariation() && variation == "" {
		return nil, fieldError(FieldVariation, "Choose a variation.")
	}
	switch f.Action {
	case RequestServe, RequestOffVariation:
		pos = append(pos, variation)
	case RequestRollout:
		total, n := 0, 0
		for _, s := range f.Rollout {
			pct := strings.TrimSpace(s.Percent)
			if pct == "" {
				continue
			}
			w, ok := parsePercent(pct)
			if !ok {
				return nil, &FieldError{Field: FieldRollout, Msg: Textf("%s isn't a percentage from 0 to 100 with at most three decimals, e.g. `25` or `33.333`.", echo(pct))}
			}
			total += w
			n++
			pos = append(pos, s.Variation+"="+pct)
		}
		switch {
		case n == 0:
			return nil, fieldError(FieldRollout, "Give each variation its percentage; they add up to 100.")
		case total != rolloutTotal:
			return nil, &FieldError{Field: FieldRollout, Msg: Textf("The percentages add up to %s%%; they must add up to 100.", formatPercent(total))}
		}
	case RequestTargetAdd, RequestTargetRemove:
		refs := strings.FieldsFunc(f.Contexts, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' })
		if len(refs) == 0 {
			return nil, fieldError(FieldContexts, "Name at least one context, e.g. `user:alice@example.com` or `org:acme`.")
		}
		verb := "add"
		if f.Action == RequestTargetRemove {
			verb = "remove"
		}
		pos = []string{flag, verb, variation, strings.Join(refs, ",")}
	}
	if f.Action.NeedsEnv() {
		pos = append(pos, env)
	}
	return formCommand(f.Action, pos, opts)
}

// formCommand parses the words the form stands for with action's
// subcommand parser. Usage mistakes become field errors on the field they
// most likely come from.
func formCommand(action RequestAction, pos []string, opts map[string]string) (ChangeCommand, error) {
	subs := subcommands()
	sub, ok := findSubcommand(subs, action.Subcommand())
	if !ok {
		return nil, fieldError(FieldAction, "Choose what to do.")
	}
	cmd, err := sub.parse(&parseArgs{entry: sub.entry, subs: subs, pos: pos, opts: opts})
	if err != nil {
		if ue, ok := err.(*UsageError); ok {
			return nil, &FieldError{Field: usageField(action), Msg: ue.Msg, Err: ue}
		}
		return nil, err
	}
	cc, ok := cmd.(ChangeCommand)
	if !ok {
		return nil, fieldError(FieldAction, "Choose what to do.")
	}
	return cc, nil
}

// usageField is the form field a usage mistake in action's words most
// likely comes from.
func usageField(action RequestAction) string {
	switch action {
	case RequestRollout:
		return FieldRollout
	case RequestTargetAdd, RequestTargetRemove:
		return FieldContexts
	case RequestServe, RequestOffVariation:
		return FieldVariation
	case RequestCreate:
		return FieldNewKey
	}
	return FieldFlag
}
