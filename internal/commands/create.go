package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The kinds of flag Create makes.
const (
	FlagKindBoolean = "boolean"
	FlagKindString  = "string"
	FlagKindNumber  = "number"
	FlagKindJSON    = "json"
)

// Create creates a flag (off in every environment).
type Create struct {
	Key        string
	FlagName   string   // empty means the key
	FlagKind   string   // one of the FlagKind constants; boolean when not given
	Variations []string // values as typed; empty means true,false for a boolean flag
	Tags       []string
	Temporary  bool
	WriteOptions
}

// Name implements Command.
func (Create) Name() string { return "create" }

func createSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "create",
			Usage:    "create <key> [name...] [--kind boolean|string|number|json] [--variations a,b,c] [--tags t1,t2] [--temporary]" + flagWideUsageTail,
			Summary:  "Asks to create a flag, off in every environment. A boolean flag serves true or false; other kinds need `--variations`.",
			Examples: []string{"create new-checkout New checkout --temporary --tags checkout,web", `create checkout-layout "Checkout layout" --kind string --variations control,two-column,compact --reason "layout test"`, "create max-cart-items --kind number --variations 10,20,50 --project web"},
		},
		options: []string{optKind, optVariations, optTags, optTemporary, optReason, optProject, optAt, optIn},
		parse:   parseCreate,
	}
}

func parseCreate(a *parseArgs) (Command, error) {
	if len(a.pos) == 0 {
		return nil, a.usagef("`create` needs the new flag's key, e.g. `/flag create new-checkout New checkout`.")
	}
	c := Create{Key: a.pos[0], Temporary: a.opts[optTemporary] == "true"}
	if err := a.key("flag key", c.Key); err != nil {
		return nil, err
	}
	c.FlagName = strings.Join(strings.Fields(strings.Join(a.pos[1:], " ")), " ")
	if n := utf8.RuneCountInString(c.FlagName); n > maxNameRunes {
		return nil, a.usagef("The name is %d characters long; keep it under %d.", n, maxNameRunes)
	}
	c.FlagKind = FlagKindBoolean
	if k, ok := a.opts[optKind]; ok {
		switch strings.ToLower(k) {
		case FlagKindBoolean, "bool":
		case FlagKindString:
			c.FlagKind = FlagKindString
		case FlagKindNumber:
			c.FlagKind = FlagKindNumber
		case FlagKindJSON:
			c.FlagKind = FlagKindJSON
		default:
			return nil, a.usagef("`--kind` is `boolean`, `string`, `number` or `json`, not %s.", echo(k))
		}
	}
	if v, ok := a.opts[optVariations]; ok {
		vals, err := a.newVariations(c.FlagKind, v)
		if err != nil {
			return nil, err
		}
		c.Variations = vals
	} else if c.FlagKind != FlagKindBoolean {
		return nil, a.usagef("A %s flag needs its values: add `--variations a,b,c`.", c.FlagKind)
	}
	if v, ok := a.opts[optTags]; ok {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if err := a.key("tag", t); err != nil {
				return nil, err
			}
			if !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
	}
	var err error
	if c.WriteOptions, err = a.writeOpts(); err != nil {
		return nil, err
	}
	return c, nil
}

// newVariations reads --variations for a flag of kind: values separated by
// commas that are not inside JSON brackets or strings.
func (a *parseArgs) newVariations(kind, s string) ([]string, error) {
	var vals []string
	for _, v := range splitTopLevel(s) {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, a.usagef("%s has an empty variation; separate values with single commas.", echo(s))
		}
		if slices.Contains(vals, v) {
			return nil, a.usagef("The variation %s is given twice; each value must be different.", echo(v))
		}
		switch kind {
		case FlagKindBoolean:
			if v != "true" && v != "false" {
				return nil, a.usagef("A boolean flag's variations are `true` and `false`, not %s.", echo(v))
			}
		case FlagKindNumber:
			if _, err := strconv.ParseFloat(v, 64); err != nil || !json.Valid([]byte(v)) {
				return nil, a.usagef("%s isn't a number.", echo(v))
			}
		case FlagKindJSON:
			if !json.Valid([]byte(v)) {
				return nil, a.usagef("%s isn't valid JSON.", echo(v))
			}
		}
		vals = append(vals, v)
	}
	switch {
	case len(vals) < 2:
		return nil, a.usagef("A flag needs at least two variations, e.g. `--variations a,b`.")
	case len(vals) > maxNewVariations:
		return nil, a.usagef("That is %d variations; Flagbot creates at most %d.", len(vals), maxNewVariations)
	}
	return vals, nil
}

// splitTopLevel splits s at commas outside JSON brackets and strings.
func splitTopLevel(s string) []string {
	var (
		parts    []string
		depth    int
		inString bool
		escaped  bool
		start    int
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth <= 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// Run implements Command: it files the change for approval.
func (c Create) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand: it checks that the project exists and the
// key is free.
func (c Create) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	client := x.clients(conn.Token)
	if _, err := client.ListEnvironments(ctx, p); err != nil {
		return Change{}, x.projectError(ctx, client, p, err)
	}
	existing, err := client.GetFlag(ctx, p, c.Key)
	switch {
	case err == nil:
		return Change{}, inField(Errorf(KindInvalid, "Project `%s` already has a flag `%s`. Try `/flag show %s`.", p, existing.Key, existing.Key), FieldNewKey)
	case KindOf(err) != KindNotFound:
		return Change{}, serviceError(ctx, err)
	}
	nf, err := c.newFlag()
	if err != nil {
		return Change{}, err
	}
	labels := make([]string, len(nf.Variations))
	for i, v := range nf.Variations {
		labels[i] = valueText(v.Value)
	}
	kind := c.FlagKind
	if kind == "" {
		kind = FlagKindBoolean
	}
	after := fmt.Sprintf("%s flag %q (%s), off everywhere", kind, nf.Name, strings.Join(labels, " / "))
	if nf.Temporary {
		after += ", temporary"
	}
	if len(nf.Tags) > 0 {
		after += ", tags " + strings.Join(nf.Tags, ", ")
	}
	return Change{
		Kind: ChangeCreate, Project: p, Flag: nf.Key, NewFlag: &nf,
		Diff: []DiffLine{{Field: "flag", Before: "none", After: after}},
	}, nil
}

// newFlag turns c into the flag to create.
func (c Create) newFlag() (NewFlag, error) {
	nf := NewFlag{Key: c.Key, Name: c.FlagName, Tags: slices.Clone(c.Tags), Temporary: c.Temporary}
	if nf.Name == "" {
		nf.Name = c.Key
	}
	vals := c.Variations
	if len(vals) == 0 {
		vals = []string{"true", "false"}
	}
	for _, v := range vals {
		var raw json.RawMessage
		switch c.FlagKind {
		case FlagKindString:
			b, err := json.Marshal(v)
			if err != nil {
				return NewFlag{}, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: encode variation: %w", err)}
			}
			raw = b
		default:
			if !json.Valid([]byte(v)) {
				return NewFlag{}, inField(Errorf(KindInvalid, "%s isn't a valid %s value.", echo(v), c.FlagKind), FieldVariations)
			}
			raw = json.RawMessage(v)
		}
		nf.Variations = append(nf.Variations, Variation{Value: raw})
	}
	nf.Defaults = &Defaults{OnVariation: 0, OffVariation: len(nf.Variations) - 1}
	return nf, nil
}

// Args implements ChangeCommand.
func (c Create) Args(Scope) []string {
	w := []string{c.Key}
	if c.FlagName != "" {
		w = append(w, quoteArg(c.FlagName))
	}
	if c.FlagKind != "" && c.FlagKind != FlagKindBoolean {
		w = append(w, "--kind", c.FlagKind)
	}
	if len(c.Variations) > 0 {
		w = append(w, "--variations", quoteArg(strings.Join(c.Variations, ",")))
	}
	if len(c.Tags) > 0 {
		w = append(w, "--tags", strings.Join(c.Tags, ","))
	}
	if c.Temporary {
		w = append(w, "--temporary")
	}
	return w
}
