package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Helpers the change commands' Plan methods share.

// planInEnv resolves the environment (typed, else the default), fetches
// flag key in it and returns the change's skeleton (kind, scope, versions)
// with the flag and its environment, for an environment-scoped command to
// fill in.
func (e *Executor) planInEnv(ctx context.Context, conn Connection, p string, kind ChangeKind, key, typedEnv string) (Change, Flag, FlagEnvironment, error) {
	envKey, err := env(typedEnv, conn, true)
	if err != nil {
		return Change{}, Flag{}, FlagEnvironment{}, err
	}
	flag, envKey, err := e.flagInEnv(ctx, e.clients(conn.Token), p, key, envKey)
	if err != nil {
		return Change{}, Flag{}, FlagEnvironment{}, err
	}
	fe := flag.Environments[envKey]
	c := Change{Kind: kind, Project: p, Env: envKey, Flag: flag.Key, FlagVersion: flag.Version, EnvVersion: fe.Version}
	return c, flag, fe, nil
}

// flagInEnv fetches flag key with environment envKey, matching both keys
// case-insensitively, and returns the canonical environment key. Unknown
// flags and environments are KindNotFound with suggestions.
func (e *Executor) flagInEnv(ctx context.Context, client LaunchDarkly, p, key, envKey string) (Flag, string, error) {
	flag, err := client.GetFlag(ctx, p, key, envKey)
	if err != nil {
		if KindOf(err) != KindNotFound {
			return Flag{}, "", serviceError(ctx, err)
		}
		found, ferr := e.findFlag(ctx, client, p, key)
		if ferr != nil {
			return Flag{}, "", ferr
		}
		if flag, err = client.GetFlag(ctx, p, found.Key, envKey); err != nil {
			return Flag{}, "", serviceError(ctx, err)
		}
	}
	if k, ok := matchFlagEnv(flag, envKey); ok {
		return flag, k, nil
	}
	envs, err := client.ListEnvironments(ctx, p)
	if err != nil {
		return Flag{}, "", e.projectError(ctx, client, p, err)
	}
	k, ok := matchEnv(envs, envKey)
	if !ok {
		return Flag{}, "", noEnvError(p, envKey, envKeys(envs))
	}
	if flag, err = client.GetFlag(ctx, p, flag.Key, k); err != nil {
		return Flag{}, "", serviceError(ctx, err)
	}
	if _, ok := flag.Environments[k]; !ok {
		return Flag{}, "", &Error{Kind: KindInternal, Err: fmt.Errorf("commands: LaunchDarkly returned flag %q without environment %q", flag.Key, k)}
	}
	return flag, k, nil
}

// weightedLabel is one slice of a rollout as shown to people.
type weightedLabel struct {
	Label  string
	Weight int // thousandths of a percent
}

// describeRollout writes "rollout 25% true / 75% false".
func describeRollout(ws []weightedLabel) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = formatPercent(w.Weight) + "% " + w.Label
	}
	return "rollout " + strings.Join(parts, " / ")
}

// describeServe writes what a fallthrough serves.
func describeServe(f Flag, vr *VariationOrRollout) string {
	switch {
	case vr == nil:
		return "none"
	case vr.Rollout != nil:
		ws := make([]weightedLabel, 0, len(vr.Rollout.Variations))
		for _, v := range vr.Rollout.Variations {
			ws = append(ws, weightedLabel{Label: variationLabel(f, v.Variation), Weight: v.Weight})
		}
		return describeRollout(ws)
	case vr.Variation != nil:
		return variationLabel(f, *vr.Variation)
	}
	return "none"
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// variationLabel names variation i for people: its name, else its value
// (strings without quotes).
func variationLabel(f Flag, i int) string {
	if i < 0 || i >= len(f.Variations) {
		return "variation " + strconv.Itoa(i)
	}
	v := f.Variations[i]
	if v.Name != "" {
		return v.Name
	}
	return valueText(v.Value)
}

// valueText writes a variation value: a JSON string without its quotes,
// anything else as compact JSON.
func valueText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// resolveVariation finds the variation the user named: by its _id (how an
// undo names it; LaunchDarkly's ids are UUIDs nobody types), by name
// (ignoring case), then by value, then by index.
func resolveVariation(f Flag, typed string) (int, error) {
	t := strings.TrimSpace(typed)
	for i, v := range f.Variations {
		if v.ID != "" && v.ID == t {
			return i, nil
		}
	}
	for i, v := range f.Variations {
		if v.Name != "" && strings.EqualFold(v.Name, t) {
			return checkVariationID(f, i)
		}
	}
	for i, v := range f.Variations {
		if valueText(v.Value) == t || (isBoolValue(v.Value) && strings.EqualFold(valueText(v.Value), t)) {
			return checkVariationID(f, i)
		}
	}
	if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < len(f.Variations) && strconv.Itoa(i) == t {
		return checkVariationID(f, i)
	}
	names := make([]Text, len(f.Variations))
	for i := range f.Variations {
		names[i] = Textf("`%s` (%d)", plain(variationLabel(f, i)), i)
	}
	return 0, &Error{Kind: KindInvalid, Msg: Textf("`%s` has no variation %s. Its variations are %s; name one by its name, value or index.", f.Key, echo(typed), Join(names, ", ")), Field: FieldVariation}
}

func isBoolValue(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "true" || s == "false"
}

func checkVariationID(f Flag, i int) (int, error) {
	if f.Variations[i].ID == "" {
		return 0, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: flag %q variation %d has no _id", f.Key, i)}
	}
	return i, nil
}

// formatPercent writes thousandths of a percent as a percentage without
// trailing zeros: 25000 is "25", 33333 is "33.333".
func formatPercent(w int) string {
	s := strconv.Itoa(w/1000) + "." + strconv.Itoa(1000 + w%1000)[1:]
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func contextCount(n int) string {
	if n == 1 {
		return "1 context"
	}
	return strconv.Itoa(n) + " contexts"
}

// envArgs writes an environment-scoped change's words: the flag key,
// middle, and the environment (scope's when it sets one, else the one
// typed).
func envArgs(scope Scope, flag, typedEnv string, middle ...string) []string {
	w := append([]string{flag}, middle...)
	if scope.Env != "" {
		typedEnv = scope.Env
	}
	if typedEnv != "" {
		w = append(w, typedEnv)
	}
	return w
}
