package commands

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The options only write commands take.
const (
	optReason     = "reason"
	optVariations = "variations"
	optTags       = "tags"
	optTemporary  = "temporary"
)

// Limits on what write commands accept.
const (
	maxReasonRunes     = 500
	maxNameRunes       = 256
	maxNewVariations   = 20
	maxTargetContexts  = 100
	maxRolloutSlices   = 20
	rolloutTotal       = 100000 // LaunchDarkly rollout weights: thousandths of a percent
	historyLimit       = 50
	writeOptionsHelp   = "Every change takes `--reason \"...\"` and `--project p`, and waits for a second person's approval (unless an admin exempted its environment with `/flag config approval-envs`)."
	envScopedUsageTail = " [env] [--reason r] [--project p]"
)

// writeSubcommands returns the help-and-parse rows of the write commands
// and of `pending` and `history`.
func writeSubcommands() []subcommand {
	envOpts := []string{optEnv, optReason, optProject}
	flagOpts := []string{optReason, optProject}
	return []subcommand{
		{
			entry: HelpEntry{
				Name:     "on",
				Usage:    "on <flag>" + envScopedUsageTail,
				Summary:  "Asks to turn a flag on in an environment. " + writeOptionsHelp,
				Examples: []string{"on new-checkout production", `on new-checkout --env staging --reason "QA signed off"`},
			},
			options: envOpts,
			parse:   parseOnOffCmd(true),
		},
		{
			entry: HelpEntry{
				Name:     "off",
				Usage:    "off <flag>" + envScopedUsageTail,
				Summary:  "Asks to turn a flag off in an environment (it then serves its off variation).",
				Examples: []string{`off new-checkout production --reason "checkout errors spiking"`, "off dark-mode staging --project mobile-app"},
			},
			options: envOpts,
			parse:   parseOnOffCmd(false),
		},
		{
			entry: HelpEntry{
				Name:     "serve",
				Usage:    "serve <flag> <variation>" + envScopedUsageTail,
				Summary:  "Asks to change the variation a flag serves by default (when no target or rule matches). Name the variation by its name, its value or its index.",
				Examples: []string{"serve new-checkout true production", `serve checkout-layout "two column" staging --reason "design review"`, "serve banner-color 2 --env production"},
			},
			options: envOpts,
			parse:   parseVariationCmd("serve"),
		},
		{
			entry: HelpEntry{
				Name:     "rollout",
				Usage:    "rollout <flag> <variation>=<pct> [<variation>=<pct>...]" + envScopedUsageTail,
				Summary:  "Asks to serve a percentage rollout by default. The percentages add up to 100 and may have up to three decimals.",
				Examples: []string{"rollout new-checkout true=25 false=75 production", `rollout checkout-layout control=33.333 "two column"=33.333 compact=33.334 --env staging --reason "A/B/C test"`},
			},
			options: envOpts,
			parse:   parseRolloutCmd,
		},
		{
			entry: HelpEntry{
				Name:     "offvariation",
				Usage:    "offvariation <flag> <variation>" + envScopedUsageTail,
				Summary:  "Asks to change the variation a flag serves while it is off.",
				Examples: []string{"offvariation new-checkout false production", "offvariation banner-color grey --env staging"},
			},
			options: envOpts,
			parse:   parseVariationCmd("offvariation"),
		},
		{
			entry: HelpEntry{
				Name:     "target",
				Usage:    "target <flag> add|remove <variation> <kind>:<key>[,<kind>:<key>...]" + envScopedUsageTail,
				Summary:  "Asks to add contexts to, or remove them from, the individual targets of a variation. A key without a kind is a `user`.",
				Examples: []string{"target new-checkout add true alice@example.com,bob@example.com production", `target new-checkout remove true user:alice@example.com --env staging --reason "test done"`, "target dark-mode add true device:ios-7f3a,org:acme production"},
			},
			options: envOpts,
			parse:   parseTargetCmd,
		},
		{
			entry: HelpEntry{
				Name:     "create",
				Usage:    "create <key> [name...] [--kind boolean|string|number|json] [--variations a,b,c] [--tags t1,t2] [--temporary] [--reason r] [--project p]",
				Summary:  "Asks to create a flag, off in every environment. A boolean flag serves true or false; other kinds need `--variations`.",
				Examples: []string{"create new-checkout New checkout --temporary --tags checkout,web", `create checkout-layout "Checkout layout" --kind string --variations control,two-column,compact --reason "layout test"`, "create max-cart-items --kind number --variations 10,20,50 --project web"},
			},
			options: []string{optKind, optVariations, optTags, optTemporary, optReason, optProject},
			parse:   parseCreateCmd,
		},
		{
			entry: HelpEntry{
				Name:     "archive",
				Usage:    "archive <flag> [--reason r] [--project p]",
				Summary:  "Asks to archive a flag in every environment (it keeps serving its values; `restore` undoes it).",
				Examples: []string{`archive old-banner --reason "launched in March"`, "archive old-banner --project web"},
			},
			options: flagOpts,
			parse:   parseFlagWideCmd("archive"),
		},
		{
			entry: HelpEntry{
				Name:     "restore",
				Usage:    "restore <flag> [--reason r] [--project p]",
				Summary:  "Asks to restore an archived flag.",
				Examples: []string{"restore old-banner", `restore old-banner --project web --reason "still needed"`},
			},
			options: flagOpts,
			parse:   parseFlagWideCmd("restore"),
		},
		{
			entry: HelpEntry{
				Name:     "delete",
				Usage:    "delete <flag> [--reason r] [--project p]",
				Summary:  "Asks to delete a flag from every environment, for good. The approver types the flag key to confirm; prefer `archive`.",
				Examples: []string{`delete old-banner --reason "removed from the code in v42"`, "delete old-banner --project web"},
			},
			options: flagOpts,
			parse:   parseFlagWideCmd("delete"),
		},
		{
			entry: HelpEntry{
				Name:     "pending",
				Usage:    "pending",
				Summary:  "Lists the changes in this workspace waiting for approval.",
				Examples: []string{"pending"},
			},
			parse: parsePendingCmd,
		},
		{
			entry: HelpEntry{
				Name:     "history",
				Usage:    "history [flag]",
				Summary:  "Lists the last 50 decided changes in this workspace (applied, rejected, cancelled, expired, ...), or one flag's.",
				Examples: []string{"history", "history new-checkout"},
			},
			parse: parseHistoryCmd,
		},
	}
}

// writeOpts reads --project and --reason.
func (a *parseArgs) writeOpts() (WriteOptions, error) {
	var w WriteOptions
	var err error
	if w.Project, err = a.optionKey(optProject, "project key"); err != nil {
		return WriteOptions{}, err
	}
	if r, ok := a.opts[optReason]; ok {
		w.Reason = strings.Join(strings.Fields(r), " ")
		if w.Reason == "" {
			return WriteOptions{}, a.usagef("`--reason` is empty; say why, e.g. `--reason \"checkout errors spiking\"`.")
		}
		if n := utf8.RuneCountInString(w.Reason); n > maxReasonRunes {
			return WriteOptions{}, a.usagef("The reason is %d characters long; keep it under %d.", n, maxReasonRunes)
		}
	}
	return w, nil
}

// flagArg reads the flag key in position 0.
func (a *parseArgs) flagArg(example string) (string, error) {
	if len(a.pos) == 0 {
		return "", a.usagef("`%s` needs a flag key, e.g. `/flag %s`.", a.entry.Name, example)
	}
	return a.pos[0], a.key("flag key", a.pos[0])
}

// variationArg reads a variation in position i: anything non-empty.
func (a *parseArgs) variationArg(i int, example string) (string, error) {
	if i >= len(a.pos) || strings.TrimSpace(a.pos[i]) == "" {
		return "", a.usagef("`%s` needs a variation (its name, value or index), e.g. `/flag %s`.", a.entry.Name, example)
	}
	return strings.TrimSpace(a.pos[i]), nil
}

func parseOnOffCmd(on bool) func(a *parseArgs) (Command, error) {
	return func(a *parseArgs) (Command, error) {
		flag, err := a.flagArg(a.entry.Name + " new-checkout production")
		if err != nil {
			return nil, err
		}
		if err := a.atMost(2); err != nil {
			return nil, err
		}
		env, err := a.pick(1, optEnv, "environment")
		if err != nil {
			return nil, err
		}
		w, err := a.writeOpts()
		if err != nil {
			return nil, err
		}
		if on {
			return On{Flag: flag, Env: env, WriteOptions: w}, nil
		}
		return Off{Flag: flag, Env: env, WriteOptions: w}, nil
	}
}

func parseVariationCmd(name string) func(a *parseArgs) (Command, error) {
	return func(a *parseArgs) (Command, error) {
		example := name + " new-checkout true production"
		flag, err := a.flagArg(example)
		if err != nil {
			return nil, err
		}
		v, err := a.variationArg(1, example)
		if err != nil {
			return nil, err
		}
		if err := a.atMost(3); err != nil {
			return nil, err
		}
		env, err := a.pick(2, optEnv, "environment")
		if err != nil {
			return nil, err
		}
		w, err := a.writeOpts()
		if err != nil {
			return nil, err
		}
		if name == "serve" {
			return Serve{Flag: flag, Variation: v, Env: env, WriteOptions: w}, nil
		}
		return OffVariation{Flag: flag, Variation: v, Env: env, WriteOptions: w}, nil
	}
}

func parseRolloutCmd(a *parseArgs) (Command, error) {
	const example = "rollout new-checkout true=25 false=75 production"
	flag, err := a.flagArg(example)
	if err != nil {
		return nil, err
	}
	c := Rollout{Flag: flag}
	envAt := -1
	total := 0
	for i := 1; i < len(a.pos); i++ {
		p := a.pos[i]
		eq := strings.LastIndexByte(p, '=')
		if eq < 0 {
			if envAt >= 0 || i != len(a.pos)-1 {
				return nil, a.usagef("I can't read %s as `<variation>=<percent>`. Usage: `%s`.", echo(p), a.entry.Usage)
			}
			envAt = i
			continue
		}
		v, pct := strings.TrimSpace(p[:eq]), strings.TrimSpace(p[eq+1:])
		if v == "" {
			return nil, a.usagef("%s names no variation before the `=`, e.g. `true=25`.", echo(p))
		}
		w, ok := parsePercent(pct)
		if !ok {
			return nil, a.usagef("%s isn't a percentage from 0 to 100 with at most three decimals, e.g. `25` or `33.333`.", echo(pct))
		}
		if slices.ContainsFunc(c.Weights, func(x RolloutWeight) bool { return strings.EqualFold(x.Variation, v) }) {
			return nil, a.usagef("You gave variation %s twice; give each variation once.", echo(v))
		}
		if len(c.Weights) == maxRolloutSlices {
			return nil, a.usagef("A rollout has at most %d variations.", maxRolloutSlices)
		}
		c.Weights = append(c.Weights, RolloutWeight{Variation: v, Weight: w})
		total += w
	}
	if len(c.Weights) == 0 {
		return nil, a.usagef("`rollout` needs percentages for the variations, e.g. `/flag %s`.", example)
	}
	if total != rolloutTotal {
		return nil, a.usagef("The percentages add up to %s%%; they must add up to 100.", formatPercent(total))
	}
	envPos := 1 // pick reads the environment from a.pos[1], if any
	if envAt >= 0 {
		a.pos = []string{a.pos[0], a.pos[envAt]}
	} else {
		a.pos = a.pos[:1]
	}
	if c.Env, err = a.pick(envPos, optEnv, "environment"); err != nil {
		return nil, err
	}
	if c.WriteOptions, err = a.writeOpts(); err != nil {
		return nil, err
	}
	return c, nil
}

// parsePercent reads a percentage with at most three decimals (and an
// optional % sign) as thousandths of a percent.
func parsePercent(s string) (int, bool) {
	s = strings.TrimSuffix(s, "%")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" && (!hasFrac || frac == "") {
		return 0, false
	}
	if len(whole) > 3 || len(frac) > 3 || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return 0, false
	}
	n := 0
	if whole != "" {
		n, _ = strconv.Atoi(whole)
	}
	f := 0
	if frac != "" {
		f, _ = strconv.Atoi(frac + strings.Repeat("0", 3-len(frac)))
	}
	w := n*1000 + f
	if w > rolloutTotal {
		return 0, false
	}
	return w, true
}

// formatPercent writes thousandths of a percent as a percentage without
// trailing zeros: 25000 is "25", 33333 is "33.333".
func formatPercent(w int) string {
	s := strconv.Itoa(w/1000) + "." + strconv.Itoa(1000 + w%1000)[1:]
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func parseTargetCmd(a *parseArgs) (Command, error) {
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

func parseFlagWideCmd(name string) func(a *parseArgs) (Command, error) {
	return func(a *parseArgs) (Command, error) {
		flag, err := a.flagArg(name + " old-banner")
		if err != nil {
			return nil, err
		}
		if err := a.atMost(1); err != nil {
			return nil, err
		}
		w, err := a.writeOpts()
		if err != nil {
			return nil, err
		}
		switch name {
		case "archive":
			return Archive{Flag: flag, WriteOptions: w}, nil
		case "restore":
			return Restore{Flag: flag, WriteOptions: w}, nil
		}
		return Delete{Flag: flag, WriteOptions: w}, nil
	}
}

func parseCreateCmd(a *parseArgs) (Command, error) {
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

func parsePendingCmd(a *parseArgs) (Command, error) {
	if err := a.atMost(0); err != nil {
		return nil, err
	}
	return Pending{}, nil
}

func parseHistoryCmd(a *parseArgs) (Command, error) {
	if err := a.atMost(1); err != nil {
		return nil, err
	}
	if len(a.pos) == 0 {
		return History{}, nil
	}
	if err := a.key("flag key", a.pos[0]); err != nil {
		return nil, err
	}
	return History{Flag: a.pos[0]}, nil
}

// CommandText writes a write command back as the text after "/flag" that
// parses to it: what a change records and what "Request again" re-runs.
func CommandText(cmd Command) string {
	var w []string
	var opts WriteOptions
	if wc, ok := cmd.(writeCommand); ok {
		opts = wc.writeOptions()
	}
	w = append(w, cmd.Name())
	envArg := func(env string) {
		if env != "" {
			w = append(w, env)
		}
	}
	switch c := cmd.(type) {
	case On:
		w = append(w, c.Flag)
		envArg(c.Env)
	case Off:
		w = append(w, c.Flag)
		envArg(c.Env)
	case Serve:
		w = append(w, c.Flag, quoteArg(c.Variation))
		envArg(c.Env)
	case OffVariation:
		w = append(w, c.Flag, quoteArg(c.Variation))
		envArg(c.Env)
	case Rollout:
		w = append(w, c.Flag)
		for _, x := range c.Weights {
			w = append(w, quoteArg(x.Variation+"="+formatPercent(x.Weight)))
		}
		envArg(c.Env)
	case Target:
		action := "add"
		if c.Remove {
			action = "remove"
		}
		refs := make([]string, len(c.Contexts))
		for i, r := range c.Contexts {
			refs[i] = r.Kind + ":" + r.Key
		}
		w = append(w, c.Flag, action, quoteArg(c.Variation), quoteArg(strings.Join(refs, ",")))
		envArg(c.Env)
	case Create:
		w = append(w, c.Key)
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
	case Archive:
		w = append(w, c.Flag)
	case Restore:
		w = append(w, c.Flag)
	case Delete:
		w = append(w, c.Flag)
	case History:
		if c.Flag != "" {
			w = append(w, c.Flag)
		}
	}
	if opts.Project != "" {
		w = append(w, "--project", opts.Project)
	}
	if opts.Reason != "" {
		w = append(w, "--reason", quoteArg(opts.Reason))
	}
	return strings.Join(w, " ")
}

// quoteArg quotes s for Parse when it holds spaces, quotes or could be
// read as an option, with a quote family s does not contain.
func quoteArg(s string) string {
	needs := s == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "—") || strings.HasPrefix(s, "–")
	for _, r := range s {
		if quoteFamily(r) != 0 || r == '<' || r == '&' || isSpaceOrInvisible(r) {
			needs = true
			break
		}
	}
	if !needs {
		return s
	}
	for _, q := range []struct {
		open   string
		family int
	}{{`"`, 1}, {`'`, 2}, {"`", 3}} {
		if !strings.ContainsFunc(s, func(r rune) bool { return quoteFamily(r) == q.family }) {
			return q.open + s + q.open
		}
	}
	return `"` + strings.Map(func(r rune) rune {
		if quoteFamily(r) == 1 {
			return -1
		}
		return r
	}, s) + `"`
}

func isSpaceOrInvisible(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' || isZeroWidth(r) || (r < 0x20)
}
