package commands

import (
	"context"
	"slices"
	"strings"
)

// ContextRef names one context: its kind (user when none was typed) and key.
type ContextRef struct {
	Kind string
	Key  string
}

// Target adds contexts to, or removes them from, a variation's individual
// targets.
type Target struct {
	Flag      string
	Remove    bool // false: add
	Variation string
	Contexts  []ContextRef
	Env       string
	WriteOptions
}

// Name implements Command.
func (Target) Name() string { return "target" }

func targetSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "target",
			Usage:    "target <flag> add|remove <variation> <kind>:<key>[,<kind>:<key>...]" + envScopedUsageTail,
			Summary:  "Asks to add contexts to, or remove them from, the individual targets of a variation. A key without a kind is a `user`.",
			Examples: []string{"target new-checkout add true alice@example.com,bob@example.com production", `target new-checkout remove true user:alice@example.com --env staging --reason "test done"`, "target dark-mode add true device:ios-7f3a,org:acme production"},
		},
		options: envScopedOptions(),
		parse:   parseTarget,
	}
}

func parseTarget(a *parseArgs) (Command, error) {
	const example = "target new-checkout add true alice@example.com production"
	flag, err := a.flagArg(example)
	if err != nil {
		return nil, err
	}
	if len(a.pos) < 4 {
		return nil, a.usagef("`target` needs a flag, `add` or `remove`, a variation and contexts, e.g. `/flag %s`.", example)
	}
	if err := a.atMost(5); err != nil {
		return nil, err
	}
	c := Target{Flag: flag}
	switch strings.ToLower(a.pos[1]) {
	case "add":
	case "remove", "rm":
		c.Remove = true
	default:
		return nil, a.usagef("Say `add` or `remove`, not %s. Usage: `%s`.", echo(a.pos[1]), a.entry.Usage)
	}
	if c.Variation, err = a.variationArg(2, example); err != nil {
		return nil, err
	}
	for _, part := range strings.Split(a.pos[3], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ref := ContextRef{Kind: "user", Key: part}
		if kind, key, ok := strings.Cut(part, ":"); ok {
			if err := a.key("context kind", kind); err != nil {
				return nil, err
			}
			ref = ContextRef{Kind: kind, Key: strings.TrimSpace(key)}
			if ref.Key == "" {
				return nil, a.usagef("%s has no key after the kind, e.g. `%s:alice`.", echo(part), plain(kind))
			}
		}
		if !slices.Contains(c.Contexts, ref) {
			c.Contexts = append(c.Contexts, ref)
		}
	}
	if len(c.Contexts) == 0 {
		return nil, a.usagef("Name at least one context, e.g. `user:alice@example.com`.")
	}
	if len(c.Contexts) > maxTargetContexts {
		return nil, a.usagef("That is %d contexts; one request takes at most %d.", len(c.Contexts), maxTargetContexts)
	}
	if c.Env, err = a.pick(4, optEnv, "environment"); err != nil {
		return nil, err
	}
	if c.WriteOptions, err = a.writeOpts(); err != nil {
		return nil, err
	}
	return c, nil
}

// Run implements Command: it files the change for approval.
func (c Target) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand: addTargets or removeTargets
// instructions, one per context kind in the order first named. It refuses
// contexts already targeted elsewhere (add) or not targeted here (remove).
func (c Target) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	ch, f, fe, err := x.planInEnv(ctx, conn, p, ChangeTarget, c.Flag, c.Env)
	if err != nil {
		return Change{}, err
	}
	i, err := resolveVariation(f, c.Variation)
	if err != nil {
		return Change{}, err
	}
	type targetKey struct{ kind, key string }
	served := map[targetKey]int{}
	count := 0
	for _, list := range [][]TargetList{fe.Targets, fe.ContextTargets} {
		for _, t := range list {
			kind := t.ContextKind
			if kind == "" {
				kind = "user"
			}
			for _, v := range t.Values {
				k := targetKey{kind, v}
				if _, seen := served[k]; !seen {
					served[k] = t.Variation
					if t.Variation == i {
						count++
					}
				}
			}
		}
	}
	label := variationLabel(f, i)
	var (
		kinds  []string
		byKind = map[string][]string{}
		names  []string
	)
	for _, r := range c.Contexts {
		j, ok := served[targetKey{r.Kind, r.Key}]
		switch {
		case !c.Remove && ok && j == i:
			return Change{}, inField(Errorf(KindInvalid, "`%s:%s` is already targeted to get %s in `%s`.", plain(r.Kind), plain(r.Key), label, ch.Env), FieldContexts)
		case !c.Remove && ok:
			return Change{}, inField(Errorf(KindInvalid, "`%s:%s` is targeted to get %s in `%s`; remove it from there first (a context gets one variation).", plain(r.Kind), plain(r.Key), variationLabel(f, j), ch.Env), FieldContexts)
		case c.Remove && (!ok || j != i):
			return Change{}, inField(Errorf(KindInvalid, "`%s:%s` isn't targeted to get %s in `%s`, so there is nothing to remove.", plain(r.Kind), plain(r.Key), label, ch.Env), FieldContexts)
		}
		if _, ok := byKind[r.Kind]; !ok {
			kinds = append(kinds, r.Kind)
		}
		byKind[r.Kind] = append(byKind[r.Kind], r.Key)
		names = append(names, r.Kind+":"+r.Key)
	}
	kind, sign, after := InstrAddTargets, "+ ", count+len(names)
	if c.Remove {
		kind, sign, after = InstrRemoveTargets, "− ", count-len(names)
	}
	instrs := make([]Instruction, 0, len(kinds))
	for _, k := range kinds {
		instrs = append(instrs, Instruction{Kind: kind, ContextKind: k, VariationID: f.Variations[i].ID, Values: byKind[k]})
	}
	ch.Patch = &Patch{Env: ch.Env, Instructions: instrs}
	ch.Diff = []DiffLine{{
		Field:  "targets for " + label,
		Before: contextCount(count),
		After:  contextCount(after) + " (" + sign + strings.Join(names, ", ") + ")",
	}}
	return ch, nil
}

// Args implements ChangeCommand.
func (c Target) Args(scope Scope) []string {
	action := "add"
	if c.Remove {
		action = "remove"
	}
	refs := make([]string, len(c.Contexts))
	for i, r := range c.Contexts {
		refs[i] = r.Kind + ":" + r.Key
	}
	return envArgs(scope, c.Flag, c.Env, action, quoteArg(c.Variation), quoteArg(strings.Join(refs, ",")))
}
