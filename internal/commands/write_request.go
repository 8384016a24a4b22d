package commands

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flagbot/flagbot/internal/ld"
)

const (
	defaultApprovalTTL = 24 * time.Hour
	// defaultRolloutContextKind is the context kind rollouts bucket by.
	defaultRolloutContextKind = "user"
)

// readOnlyMsg is what a Reader token's workspace is told when it asks for a
// change.
const readOnlyMsg = "This workspace's LaunchDarkly token is read-only; an admin can reconnect a Writer token."

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newChangeID returns 128 random bits, base32 in lower case (26 characters).
func newChangeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

func (e *Executor) requestChange(ctx context.Context, actor Actor, channelID string, cmd Command, dedupeKey string) (ChangeResult, error) {
	wc, ok := cmd.(writeCommand)
	if !ok {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: %T is not a write command", cmd)}
	}
	if e.changes == nil || e.policies == nil {
		return ChangeResult{}, &Error{Kind: KindInternal, Err: errors.New("commands: no change store configured")}
	}
	conn, err := e.connection(ctx, actor)
	if err != nil {
		return ChangeResult{}, err
	}
	if conn.Role == RoleReader {
		return ChangeResult{}, Errorf(KindForbidden, "%s", readOnlyMsg)
	}
	pol, err := e.policies.Policy(ctx, actor.Workspace)
	if err != nil {
		return ChangeResult{}, storeError("read approval policy", err)
	}
	opts := wc.writeOptions()
	if pol.RequireReason && opts.Reason == "" {
		return ChangeResult{}, Errorf(KindInvalid, "This workspace asks for a reason with every change. Add one: `/flag %s --reason \"...\"`.", CommandText(cmd))
	}
	p, err := project(opts.Project, conn)
	if err != nil {
		return ChangeResult{}, err
	}
	client := e.clients(conn.Token)
	c, err := e.buildChange(ctx, client, conn, p, wc)
	if err != nil {
		return ChangeResult{}, err
	}
	now := e.opts.Now().UTC()
	c.ID = e.opts.NewID()
	c.Workspace = actor.Workspace
	c.ChannelID = channelID
	c.RequesterID = actor.UserID
	c.CommandText = CommandText(withScope(wc, c.Project, c.Env))
	c.Reason = opts.Reason
	c.CreatedAt = now
	c.ExpiresAt = now.Add(e.opts.ApprovalTTL)
	c.Status = StatusPending
	c.RequiredApprovals = requiredApprovals(pol, c.Env)
	if !needsApproval(pol, c.Env) {
		return e.applyNow(ctx, actor, client, c)
	}
	if dedupeKey == "" {
		dedupeKey = "id:" + c.ID
	}
	stored, created, err := e.changes.Create(ctx, c, dedupeKey)
	if err != nil {
		return ChangeResult{}, storeError("store change", err)
	}
	return ChangeResult{Change: stored, Created: created, FlagURL: e.flagURL(stored)}, nil
}

// needsApproval reports whether a change in env waits for approval under
// pol. Flag-wide changes (env "") touch every environment, so they always do.
func needsApproval(pol Policy, env string) bool {
	if env == "" || len(pol.ApprovalEnvs) == 0 {
		return true
	}
	return slices.ContainsFunc(pol.ApprovalEnvs, func(x string) bool { return strings.EqualFold(x, env) })
}

// requiredApprovals is the number of approvals pol asks for in env: the
// configured number (1 when none), and for flag-wide changes the largest
// number configured for any environment.
func requiredApprovals(pol Policy, env string) int {
	n := 1
	for k, v := range pol.Approvals {
		if env == "" || strings.EqualFold(k, env) {
			n = max(n, v)
		}
	}
	return min(n, maxApprovals)
}

// withScope returns cmd with its project and environment resolved, so its
// text re-runs the same change whatever the defaults become.
func withScope(cmd writeCommand, project, env string) writeCommand {
	switch c := cmd.(type) {
	case On:
		c.Project, c.Env = project, env
		return c
	case Off:
		c.Project, c.Env = project, env
		return c
	case Serve:
		c.Project, c.Env = project, env
		return c
	case Rollout:
		c.Project, c.Env = project, env
		return c
	case OffVariation:
		c.Project, c.Env = project, env
		return c
	case Target:
		c.Project, c.Env = project, env
		return c
	case Create:
		c.Project = project
		return c
	case Archive:
		c.Project = project
		return c
	case Restore:
		c.Project = project
		return c
	case Delete:
		c.Project = project
		return c
	}
	return cmd
}

// buildChange validates cmd against LaunchDarkly and returns the change
// that would carry it out: Kind, Project, Env, Flag, the write, the
// versions and the diff.
func (e *Executor) buildChange(ctx context.Context, client LaunchDarkly, conn Connection, p string, cmd writeCommand) (Change, error) {
	c := Change{Kind: cmd.Name(), Project: p}
	var envGiven, flagKey string
	switch x := cmd.(type) {
	case On:
		envGiven, flagKey = x.Env, x.Flag
	case Off:
		envGiven, flagKey = x.Env, x.Flag
	case Serve:
		envGiven, flagKey = x.Env, x.Flag
	case Rollout:
		envGiven, flagKey = x.Env, x.Flag
	case OffVariation:
		envGiven, flagKey = x.Env, x.Flag
	case Target:
		envGiven, flagKey = x.Env, x.Flag
	case Create:
		return e.buildCreate(ctx, client, c, x)
	case Archive, Restore, Delete:
		var key string
		switch y := x.(type) {
		case Archive:
			key = y.Flag
		case Restore:
			key = y.Flag
		case Delete:
			key = y.Flag
		}
		return e.buildFlagWide(ctx, client, c, key)
	default:
		return Change{}, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: no change for %T", cmd)}
	}
	envKey, err := env(envGiven, conn, true)
	if err != nil {
		return Change{}, err
	}
	flag, envKey, err := e.flagInEnv(ctx, client, p, flagKey, envKey)
	if err != nil {
		return Change{}, err
	}
	fe := flag.Environments[envKey]
	c.Env, c.Flag = envKey, flag.Key
	c.FlagVersion, c.EnvVersion = flag.Version, fe.Version
	var instrs []ld.Instruction
	switch x := cmd.(type) {
	case On, Off:
		on := cmd.Name() == "on"
		if fe.On == on {
			return Change{}, Errorf(KindInvalid, "`%s` is already %s in `%s`.", flag.Key, onOff(on), envKey)
		}
		kind := ld.KindTurnFlagOff
		if on {
			kind = ld.KindTurnFlagOn
		}
		instrs = []ld.Instruction{{Kind: kind}}
		c.Diff = []DiffLine{{Field: envKey, Before: onOff(fe.On), After: onOff(on)}}
	case Serve:
		i, err := resolveVariation(flag, x.Variation)
		if err != nil {
			return Change{}, err
		}
		if fe.Fallthrough != nil && fe.Fallthrough.Rollout == nil && fe.Fallthrough.Variation != nil && *fe.Fallthrough.Variation == i {
			return Change{}, Errorf(KindInvalid, "`%s` already serves %s by default in `%s`.", flag.Key, variationLabel(flag, i), envKey)
		}
		instrs = []ld.Instruction{{Kind: ld.KindUpdateFallthrough, VariationID: flag.Variations[i].ID}}
		c.Diff = []DiffLine{{Field: "default", Before: describeServe(flag, fe.Fallthrough), After: variationLabel(flag, i)}}
	case Rollout:
		weights := make(map[string]int, len(x.Weights))
		var parts []weightedLabel
		for _, w := range x.Weights {
			i, err := resolveVariation(flag, w.Variation)
			if err != nil {
				return Change{}, err
			}
			id := flag.Variations[i].ID
			if _, dup := weights[id]; dup {
				return Change{}, Errorf(KindInvalid, "%s and another name in the rollout are the same variation, %s; give it once.", echo(w.Variation), variationLabel(flag, i))
			}
			weights[id] = w.Weight
			parts = append(parts, weightedLabel{Label: variationLabel(flag, i), Weight: w.Weight})
		}
		instrs = []ld.Instruction{{Kind: ld.KindUpdateFallthrough, RolloutWeights: weights, RolloutContextKind: defaultRolloutContextKind}}
		c.Diff = []DiffLine{{Field: "default", Before: describeServe(flag, fe.Fallthrough), After: describeRollout(parts)}}
	case OffVariation:
		i, err := resolveVariation(flag, x.Variation)
		if err != nil {
			return Change{}, err
		}
		if fe.OffVariation != nil && *fe.OffVariation == i {
			return Change{}, Errorf(KindInvalid, "`%s` already serves %s while off in `%s`.", flag.Key, variationLabel(flag, i), envKey)
		}
		instrs = []ld.Instruction{{Kind: ld.KindUpdateOffVariation, VariationID: flag.Variations[i].ID}}
		before := "none"
		if fe.OffVariation != nil {
			before = variationLabel(flag, *fe.OffVariation)
		}
		c.Diff = []DiffLine{{Field: "off variation", Before: before, After: variationLabel(flag, i)}}
	case Target:
		instrs, c.Diff, err = targetInstructions(flag, fe, envKey, x)
		if err != nil {
			return Change{}, err
		}
	}
	c.Patch = &ld.SemanticPatch{EnvironmentKey: envKey, Instructions: instrs}
	return c, nil
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
func describeServe(f ld.Flag, vr *ld.VariationOrRollout) string {
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
func variationLabel(f ld.Flag, i int) string {
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

// resolveVariation finds the variation the user named: by name (ignoring
// case), then by value, then by index.
func resolveVariation(f ld.Flag, typed string) (int, error) {
	t := strings.TrimSpace(typed)
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
	names := make([]string, len(f.Variations))
	for i := range f.Variations {
		names[i] = fmt.Sprintf("`%s` (%d)", plain(variationLabel(f, i)), i)
	}
	return 0, &Error{Kind: KindInvalid, Msg: fmt.Sprintf("`%s` has no variation %s. Its variations are %s; name one by its name, value or index.", f.Key, echo(typed), strings.Join(names, ", "))}
}

func isBoolValue(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "true" || s == "false"
}

func checkVariationID(f ld.Flag, i int) (int, error) {
	if f.Variations[i].ID == "" {
		return 0, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: flag %q variation %d has no _id", f.Key, i)}
	}
	return i, nil
}

// targetKey is a context as targeting lists it.
type targetKey struct{ kind, key string }

// targetInstructions builds addTargets or removeTargets instructions, one
// per context kind in the order first named, and refuses contexts that are
// already targeted elsewhere (add) or not targeted here (remove).
func targetInstructions(f ld.Flag, fe ld.FlagEnvironment, envKey string, c Target) ([]ld.Instruction, []DiffLine, error) {
	i, err := resolveVariation(f, c.Variation)
	if err != nil {
		return nil, nil, err
	}
	served := map[targetKey]int{}
	count := 0
	for _, list := range [][]ld.Target{fe.Targets, fe.ContextTargets} {
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
			return nil, nil, Errorf(KindInvalid, "`%s:%s` is already targeted to get %s in `%s`.", plain(r.Kind), plain(r.Key), label, envKey)
		case !c.Remove && ok:
			return nil, nil, Errorf(KindInvalid, "`%s:%s` is targeted to get %s in `%s`; remove it from there first (a context gets one variation).", plain(r.Kind), plain(r.Key), variationLabel(f, j), envKey)
		case c.Remove && (!ok || j != i):
			return nil, nil, Errorf(KindInvalid, "`%s:%s` isn't targeted to get %s in `%s`, so there is nothing to remove.", plain(r.Kind), plain(r.Key), label, envKey)
		}
		if _, ok := byKind[r.Kind]; !ok {
			kinds = append(kinds, r.Kind)
		}
		byKind[r.Kind] = append(byKind[r.Kind], r.Key)
		names = append(names, r.Kind+":"+r.Key)
	}
	kind, sign, after := ld.KindAddTargets, "+ ", count+len(names)
	if c.Remove {
		kind, sign, after = ld.KindRemoveTargets, "− ", count-len(names)
	}
	instrs := make([]ld.Instruction, 0, len(kinds))
	for _, k := range kinds {
		instrs = append(instrs, ld.Instruction{Kind: kind, ContextKind: k, VariationID: f.Variations[i].ID, Values: byKind[k]})
	}
	diff := []DiffLine{{
		Field:  "targets for " + label,
		Before: contextCount(count),
		After:  contextCount(after) + " (" + sign + strings.Join(names, ", ") + ")",
	}}
	return instrs, diff, nil
}

func contextCount(n int) string {
	if n == 1 {
		return "1 context"
	}
	return strconv.Itoa(n) + " contexts"
}

// flagInEnv fetches flag key with environment envKey, matching both keys
// case-insensitively, and returns the canonical environment key. Unknown
// flags and environments are KindNotFound with suggestions.
func (e *Executor) flagInEnv(ctx context.Context, client LaunchDarkly, p, key, envKey string) (ld.Flag, string, error) {
	flag, err := client.GetFlag(ctx, p, key, envKey)
	if err != nil {
		if !errors.Is(err, ld.ErrNotFound) {
			return ld.Flag{}, "", ldError(ctx, err)
		}
		found, ferr := e.findFlag(ctx, client, p, key)
		if ferr != nil {
			return ld.Flag{}, "", ferr
		}
		if flag, err = client.GetFlag(ctx, p, found.Key, envKey); err != nil {
			return ld.Flag{}, "", ldError(ctx, err)
		}
	}
	if k, ok := matchFlagEnv(flag, envKey); ok {
		return flag, k, nil
	}
	envs, err := client.ListEnvironments(ctx, p)
	if err != nil {
		return ld.Flag{}, "", e.projectError(ctx, client, p, err)
	}
	k, ok := matchEnv(envs, envKey)
	if !ok {
		return ld.Flag{}, "", &Error{Kind: KindNotFound, Msg: fmt.Sprintf("Project `%s` has no environment `%s`.", p, envKey), Suggestions: closest(envKey, envKeys(envs))}
	}
	if flag, err = client.GetFlag(ctx, p, flag.Key, k); err != nil {
		return ld.Flag{}, "", ldError(ctx, err)
	}
	if _, ok := flag.Environments[k]; !ok {
		return ld.Flag{}, "", &Error{Kind: KindInternal, Err: fmt.Errorf("commands: LaunchDarkly returned flag %q without environment %q", flag.Key, k)}
	}
	return flag, k, nil
}

// buildFlagWide builds archive, restore and delete.
func (e *Executor) buildFlagWide(ctx context.Context, client LaunchDarkly, c Change, key string) (Change, error) {
	flag, err := e.findFlag(ctx, client, c.Project, key)
	if err != nil {
		return Change{}, err
	}
	c.Flag, c.FlagVersion = flag.Key, flag.Version
	switch c.Kind {
	case "archive":
		if flag.Archived {
			return Change{}, Errorf(KindInvalid, "`%s` is already archived.", flag.Key)
		}
		c.Patch = &ld.SemanticPatch{Instructions: []ld.Instruction{{Kind: ld.KindArchiveFlag}}}
		c.Diff = []DiffLine{{Field: "archived", Before: "no", After: "yes"}}
	case "restore":
		if !flag.Archived {
			return Change{}, Errorf(KindInvalid, "`%s` isn't archived, so there is nothing to restore.", flag.Key)
		}
		c.Patch = &ld.SemanticPatch{Instructions: []ld.Instruction{{Kind: ld.KindRestoreFlag}}}
		c.Diff = []DiffLine{{Field: "archived", Before: "yes", After: "no"}}
	default:
		c.Delete = true
		c.Diff = []DiffLine{{Field: "flag", Before: "exists", After: "deleted from every environment"}}
	}
	return c, nil
}

// buildCreate builds a flag creation after checking that the project
// exists and the key is free.
func (e *Executor) buildCreate(ctx context.Context, client LaunchDarkly, c Change, x Create) (Change, error) {
	if _, err := client.ListEnvironments(ctx, c.Project); err != nil {
		return Change{}, e.projectError(ctx, client, c.Project, err)
	}
	existing, err := client.GetFlag(ctx, c.Project, x.Key)
	switch {
	case err == nil:
		return Change{}, Errorf(KindInvalid, "Project `%s` already has a flag `%s`. Try `/flag show %s`.", c.Project, existing.Key, existing.Key)
	case !errors.Is(err, ld.ErrNotFound):
		return Change{}, ldError(ctx, err)
	}
	nf, err := newFlag(x)
	if err != nil {
		return Change{}, err
	}
	c.Flag = nf.Key
	c.NewFlag = &nf
	labels := make([]string, len(nf.Variations))
	for i, v := range nf.Variations {
		labels[i] = valueText(v.Value)
	}
	kind := x.FlagKind
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
	c.Diff = []DiffLine{{Field: "flag", Before: "none", After: after}}
	return c, nil
}

// newFlag turns a Create into LaunchDarkly's flag creation body.
func newFlag(x Create) (ld.NewFlag, error) {
	nf := ld.NewFlag{Key: x.Key, Name: x.FlagName, Tags: slices.Clone(x.Tags), Temporary: x.Temporary}
	if nf.Name == "" {
		nf.Name = x.Key
	}
	vals := x.Variations
	if len(vals) == 0 {
		vals = []string{"true", "false"}
	}
	for _, v := range vals {
		var raw json.RawMessage
		switch x.FlagKind {
		case FlagKindString:
			b, err := json.Marshal(v)
			if err != nil {
				return ld.NewFlag{}, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: encode variation: %w", err)}
			}
			raw = b
		default:
			if !json.Valid([]byte(v)) {
				return ld.NewFlag{}, Errorf(KindInvalid, "%s isn't a valid %s value.", echo(v), x.FlagKind)
			}
			raw = json.RawMessage(v)
		}
		nf.Variations = append(nf.Variations, ld.Variation{Value: raw})
	}
	nf.Defaults = &ld.Defaults{OnVariation: 0, OffVariation: len(nf.Variations) - 1}
	return nf, nil
}

// flagURL links to the change's flag in LaunchDarkly's UI: in its
// environment when it has one.
func (e *Executor) flagURL(c Change) string {
	if e.opts.BaseURL == "" || c.Project == "" || c.Flag == "" || (c.Delete && c.Status == StatusApplied) {
		return ""
	}
	if c.Env == "" {
		return e.opts.BaseURL + "/projects/" + url.PathEscape(c.Project) + "/flags/" + url.PathEscape(c.Flag)
	}
	return e.opts.BaseURL + "/" + url.PathEscape(c.Project) + "/" + url.PathEscape(c.Env) + "/features/" + url.PathEscape(c.Flag)
}
