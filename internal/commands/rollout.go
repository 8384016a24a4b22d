package commands

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// RolloutWeight is one variation's share of a percentage rollout.
type RolloutWeight struct {
	Variation string // name, value or index
	Weight    int    // thousandths of a percent: 25000 is 25%
}

// Rollout sets a flag's default (fallthrough) to a percentage rollout. The
// weights sum to 100000.
type Rollout struct {
	Flag    string
	Weights []RolloutWeight
	Env     string
	WriteOptions
}

// defaultRolloutContextKind is the context kind rollouts bucket by.
const defaultRolloutContextKind = "user"

// Name implements Command.
func (Rollout) Name() string { return "rollout" }

func rolloutSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "rollout",
			Usage:    "rollout <flag> <variation>=<pct> [<variation>=<pct>...]" + envScopedUsageTail,
			Summary:  "Asks to serve a percentage rollout by default. The percentages add up to 100 and may have up to three decimals.",
			Examples: []string{"rollout new-checkout true=25 false=75 production", `rollout checkout-layout control=33.333 "two column"=33.333 compact=33.334 --env staging --reason "A/B/C test"`},
		},
		options: envScopedOptions(),
		parse:   parseRollout,
	}
}

func parseRollout(a *parseArgs) (Command, error) {
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

// Run implements Command: it files the change for approval.
func (c Rollout) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	return x.requestChange(ctx, actor, c)
}

// Plan implements ChangeCommand.
func (c Rollout) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	ch, f, fe, err := x.planInEnv(ctx, conn, p, ChangeRollout, c.Flag, c.Env)
	if err != nil {
		return Change{}, err
	}
	weights := make(map[string]int, len(c.Weights))
	var parts []weightedLabel
	for _, w := range c.Weights {
		i, err := resolveVariation(f, w.Variation)
		if err != nil {
			return Change{}, inField(err, FieldRollout)
		}
		id := f.Variations[i].ID
		if _, dup := weights[id]; dup {
			return Change{}, inField(Errorf(KindInvalid, "%s and another name in the rollout are the same variation, %s; give it once.", echo(w.Variation), variationLabel(f, i)), FieldRollout)
		}
		weights[id] = w.Weight
		parts = append(parts, weightedLabel{Label: variationLabel(f, i), Weight: w.Weight})
	}
	ch.Patch = &Patch{Env: ch.Env, Instructions: []Instruction{{Kind: InstrUpdateFallthrough, RolloutWeights: weights, RolloutContextKind: defaultRolloutContextKind}}}
	ch.Diff = []DiffLine{{Field: "default", Before: describeServe(f, fe.Fallthrough), After: describeRollout(parts)}}
	return ch, nil
}

// Args implements ChangeCommand.
func (c Rollout) Args(scope Scope) []string {
	weights := make([]string, len(c.Weights))
	for i, x := range c.Weights {
		weights[i] = quoteArg(x.Variation + "=" + formatPercent(x.Weight))
	}
	return envArgs(scope, c.Flag, c.Env, weights...)
}
