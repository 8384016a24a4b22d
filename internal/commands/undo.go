package commands

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Undo files the inverse of an applied change as a new request, under the
// same policy as any change. The inverse is computed from what the change
// replaced (Change.Undo, recorded when it was applied), not from the flag as
// it is today; when the flag changed in LaunchDarkly since, the result is an
// UndoConfirmResult saying what changed, and nothing is filed until the
// person confirms (Confirmed set to the versions they were shown).
type Undo struct {
	// ID is the request to undo: its full ID, or the first characters that
	// `/flag history` shows (at least 6).
	ID     string
	Reason string
	// Confirmed is set by the confirmation button: the flag's versions
	// (UndoConfirmResult.Seen) the person saw when they confirmed.
	Confirmed string
}

// UndoConfirmResult asks the person to confirm an undo because the flag
// changed in LaunchDarkly after the change was applied.
type UndoConfirmResult struct {
	Original Change
	// Since lists what changed: versions, then the audit log's entries.
	Since []Text
	// Now says how the part of the flag the change was about is now.
	Now Text
	// Seen identifies the versions shown; the confirmation carries it back
	// so that a flag that moved again is shown again.
	Seen string
}

func (UndoConfirmResult) result() {}

// Name implements Command.
func (Undo) Name() string { return "undo" }

// maxUndoAuditLines bounds the audit-log entries an undo confirmation lists.
const maxUndoAuditLines = 5

func undoSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "undo",
			Usage:    "undo <request-id> [--reason r]",
			Summary:  "Asks to undo an applied change (the same as its Undo button): the inverse, computed from what the change replaced, is filed as a new request under the usual approval rules. If the flag changed in LaunchDarkly since, I show what changed and ask you to confirm first. A deleted flag can't be undone; a created one is archived.",
			Examples: []string{"undo bgcha4hp4mq6ta4xb6e6ysuif4", `undo bgcha4hp --reason "errors are back"`},
		},
		options: []string{optReason},
		parse: func(a *parseArgs) (Command, error) {
			if len(a.pos) == 0 {
				return nil, a.usagef("`undo` needs the request id, e.g. `/flag undo bgcha4hp`. `/flag history` lists recent requests.")
			}
			if err := a.atMost(1); err != nil {
				return nil, err
			}
			id := strings.ToLower(a.pos[0])
			if len(id) < minRefRunes || !validKey(id) {
				return nil, a.usagef("%s isn't a request id; `/flag history` lists them (the first 8 characters are enough).", echo(a.pos[0]))
			}
			w, err := a.writeOpts()
			if err != nil {
				return nil, err
			}
			return Undo{ID: id, Reason: w.Reason}, nil
		},
	}
}

// minRefRunes is the shortest prefix of a request id that names it.
const minRefRunes = 6

// Run implements Command.
func (u Undo) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	if x.changes == nil || x.policies == nil {
		return nil, &Error{Kind: KindInternal, Err: fmt.Errorf("commands: no change store configured")}
	}
	orig, err := x.changeByRef(ctx, actor, u.ID)
	if err != nil {
		return nil, err
	}
	if err := undoable(orig); err != nil {
		return nil, err
	}
	if orig.UndoneBy != "" {
		link, err := x.changes.Get(ctx, actor.Workspace, orig.UndoneBy)
		switch {
		case err == nil && link.Status.Live():
			return nil, Errorf(KindConflict, "An undo of request `%s` is already requested: request `%s`.", orig.ID, link.ID)
		case err == nil && link.Status == StatusApplied:
			return nil, Errorf(KindConflict, "Request `%s` was already undone by request `%s`.", orig.ID, link.ID)
		case err != nil && KindOf(changeError(link, err)) != KindNotFound:
			return nil, changeError(link, err)
		}
	}
	_, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	var envs []string
	if orig.Env != "" {
		envs = []string{orig.Env}
	}
	f, err := client.GetFlag(ctx, orig.Project, orig.Flag, envs...)
	switch {
	case KindOf(err) == KindNotFound:
		return nil, &Error{Kind: KindNotFound, Msg: Textf("`%s` no longer exists in project `%s`, so there is nothing to undo.", orig.Flag, orig.Project), Err: err}
	case err != nil:
		return nil, serviceError(ctx, err)
	}
	plan := *orig.Undo
	fv, ev := f.Version, f.Environments[orig.Env].Version
	seen := strconv.Itoa(fv) + "." + strconv.Itoa(ev)
	if (fv != plan.FlagVersion || ev != plan.EnvVersion) && u.Confirmed != seen {
		return x.undoConfirmation(ctx, client, orig, f, seen), nil
	}
	cmd, err := plan.command(orig, f, WriteOptions{Project: orig.Project, Reason: u.Reason})
	if err != nil {
		return nil, err
	}
	if orig.ChannelID != "" {
		actor.ChannelID = orig.ChannelID // the undo is posted next to what it undoes
	}
	text := "undo " + orig.ID
	if u.Reason != "" {
		text += " --reason " + quoteArg(u.Reason)
	}
	res, err := x.file(ctx, actor, filing{cmd: cmd, text: text, undo: &orig})
	if err != nil && res.Change.ID == "" {
		return nil, err
	}
	return res, err
}

// RequestUndo files the undo of change id for actor, as `/flag undo` does
// (the Undo and Revert buttons, and the confirmation's, which passes the
// versions the person saw as confirmed). It returns a ChangeResult, or an
// UndoConfirmResult when the flag changed since.
func (e *Executor) RequestUndo(ctx context.Context, actor Actor, id, confirmed string) (Result, error) {
	return e.Execute(ctx, actor, Undo{ID: id, Confirmed: confirmed})
}

// undoable explains why c cannot be undone, or returns nil.
func undoable(c Change) error {
	switch {
	case c.Status != StatusApplied:
		return Errorf(KindInvalid, "Only an applied change can be undone; request `%s` is %s.", c.ID, statusWord(c.Status))
	case c.Kind == ChangeDelete:
		return Errorf(KindInvalid, "A deleted flag can't be brought back from Flagbot: `%s` is gone from LaunchDarkly. Create it again with `/flag create %s`.", c.Flag, c.Flag)
	case c.Undo == nil:
		return Errorf(KindInvalid, "Undo is unavailable for request `%s`: it was applied by an earlier version of Flagbot, which did not record what the change replaced. Make the change back by hand (`/flag help` lists the commands).", c.ID)
	}
	return nil
}

// statusWord names a status for a sentence.
func statusWord(s ChangeStatus) string {
	switch s {
	case StatusLDApproval:
		return "waiting for LaunchDarkly's own approval"
	case StatusPending:
		return "still waiting for approval"
	case StatusApproved:
		return "being applied"
	}
	return string(s)
}

// changeByRef reads the change ref names for actor: a full ID, or a prefix
// of at least minRefRunes characters of one in the workspace's history.
func (e *Executor) changeByRef(ctx context.Context, actor Actor, ref string) (Change, error) {
	c, err := e.changeFor(ctx, actor, ref)
	if err == nil || KindOf(err) != KindNotFound || len(ref) < minRefRunes {
		return c, err
	}
	recent, herr := e.changes.History(ctx, actor.Workspace, "", historyLimit)
	if herr != nil {
		return Change{}, storeError("list decided changes", herr)
	}
	var found []Change
	for _, h := range recent {
		if strings.HasPrefix(h.ID, ref) {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 0:
		return Change{}, err
	case 1:
		return e.changeFor(ctx, actor, found[0].ID)
	}
	return Change{}, Errorf(KindInvalid, "Several requests start with `%s`; give more of the id.", ref)
}

// undoConfirmation says what changed in f since orig was applied.
func (e *Executor) undoConfirmation(ctx context.Context, client LaunchDarkly, orig Change, f Flag, seen string) UndoConfirmResult {
	plan := orig.Undo
	var since []Text
	if f.Version != plan.FlagVersion {
		since = append(since, Textf("flag version %d → %d", plan.FlagVersion, f.Version))
	}
	if ev := f.Environments[orig.Env].Version; orig.Env != "" && ev != plan.EnvVersion {
		since = append(since, Textf("`%s` version %d → %d", orig.Env, plan.EnvVersion, ev))
	}
	entries, err := client.ListAuditLog(ctx, AuditQuery{Spec: AuditSpec(orig.Project, orig.Env, orig.Flag), After: orig.DecidedAt.Add(-time.Minute), Limit: 20})
	if err == nil {
		mark := "request " + orig.ID
		var lines []Text
		for _, en := range entries {
			if strings.Contains(en.Comment, mark) {
				continue
			}
			lines = append(lines, auditLine(en))
		}
		slices.Reverse(lines) // oldest first
		if n := len(lines); n > maxUndoAuditLines {
			lines = append(lines[n-maxUndoAuditLines:], Textf("and %d earlier changes (`/flag audit --flag %s`)", n-maxUndoAuditLines, orig.Flag))
		}
		since = append(since, lines...)
	} else {
		since = append(since, Notation("(LaunchDarkly's audit log could not be read)"))
	}
	return UndoConfirmResult{Original: orig, Since: since, Now: currentState(Change{Kind: orig.Kind, Env: orig.Env}, f), Seen: seen}
}

// auditLine writes one audit-log entry for an undo confirmation: when, who,
// what and the comment.
func auditLine(en AuditEntry) Text {
	who := "someone"
	switch {
	case en.Member != nil && strings.TrimSpace(en.Member.FirstName+" "+en.Member.LastName) != "":
		who = strings.TrimSpace(en.Member.FirstName + " " + en.Member.LastName)
	case en.Member != nil && en.Member.Email != "":
		who = en.Member.Email
	case en.Token != nil && en.Token.Name != "":
		who = "token " + en.Token.Name
	}
	what := en.TitleVerb
	if what == "" {
		what = "changed the flag"
	}
	t := Textf("%s UTC, %s: %s", en.Date.UTC().Format("2006-01-02 15:04"), who, what)
	if c := strings.TrimSpace(en.Comment); c != "" {
		t = Textf("%s (“%s”)", t, c)
	}
	return t
}

// undoPlan records how to undo c, applied as after from before (the flag
// just before the write; nil when unknown, in which case only changes
// whose write says how to reverse it get a plan). nil: no undo.
func undoPlan(c Change, before *Flag, after Flag) *UndoPlan {
	p := &UndoPlan{FlagVersion: after.Version}
	if c.Env != "" {
		p.EnvVersion = after.Environments[c.Env].Version
	}
	id := func(f Flag, i int) string {
		if i < 0 || i >= len(f.Variations) {
			return ""
		}
		return f.Variations[i].ID
	}
	switch c.Kind {
	case ChangeOn:
		p.Kind = ChangeOff
	case ChangeOff, ChangeKill:
		p.Kind = ChangeOn
	case ChangeArchive:
		p.Kind = ChangeRestore
	case ChangeRestore, ChangeCreate:
		p.Kind = ChangeArchive
	case ChangeTarget:
		if c.Patch == nil || len(c.Patch.Instructions) == 0 {
			return nil
		}
		p.Kind = ChangeTarget
		for _, in := range c.Patch.Instructions {
			p.Remove, p.VariationID = in.Kind == InstrAddTargets, in.VariationID
			for _, v := range in.Values {
				p.Contexts = append(p.Contexts, ContextRef{Kind: in.ContextKind, Key: v})
			}
		}
	case ChangeServe, ChangeRollout:
		if before == nil {
			return nil
		}
		fe, ok := before.Environments[c.Env]
		switch {
		case !ok || fe.Fallthrough == nil:
			return nil
		case fe.Fallthrough.Rollout != nil:
			p.Kind, p.Weights = ChangeRollout, map[string]int{}
			p.RolloutContextKind, p.RolloutBucketBy = fe.Fallthrough.Rollout.ContextKind, fe.Fallthrough.Rollout.BucketBy
			for _, wv := range fe.Fallthrough.Rollout.Variations {
				v := id(*before, wv.Variation)
				if v == "" {
					return nil
				}
				p.Weights[v] += wv.Weight
			}
		case fe.Fallthrough.Variation != nil:
			p.Kind, p.VariationID = ChangeServe, id(*before, *fe.Fallthrough.Variation)
		}
	case ChangeOffVariation:
		if before == nil {
			return nil
		}
		fe, ok := before.Environments[c.Env]
		if !ok || fe.OffVariation == nil {
			return nil // LaunchDarkly has no instruction to take the off variation away
		}
		p.Kind, p.VariationID = ChangeOffVariation, id(*before, *fe.OffVariation)
	default:
		return nil
	}
	if (p.Kind == ChangeServe || p.Kind == ChangeOffVariation || p.Kind == ChangeTarget) && p.VariationID == "" {
		return nil
	}
	return p
}

// command builds the change command that undoes orig, against the flag f
// as it is now; variations are named by their ID.
func (p UndoPlan) command(orig Change, f Flag, w WriteOptions) (ChangeCommand, error) {
	for _, v := range append([]string{p.VariationID}, keys(p.Weights)...) {
		if v != "" && !slices.ContainsFunc(f.Variations, func(x Variation) bool { return x.ID == v }) {
			return nil, Errorf(KindInvalid, "A variation that request `%s` replaced is no longer a variation of `%s`, so it can't be undone.", orig.ID, orig.Flag)
		}
	}
	switch p.Kind {
	case ChangeOn:
		return On{Flag: orig.Flag, Env: orig.Env, WriteOptions: w}, nil
	case ChangeOff:
		return Off{Flag: orig.Flag, Env: orig.Env, WriteOptions: w}, nil
	case ChangeServe:
		return Serve{Flag: orig.Flag, Variation: p.VariationID, Env: orig.Env, WriteOptions: w}, nil
	case ChangeOffVariation:
		return OffVariation{Flag: orig.Flag, Variation: p.VariationID, Env: orig.Env, WriteOptions: w}, nil
	case ChangeRollout:
		r := Rollout{Flag: orig.Flag, Env: orig.Env, WriteOptions: w}
		for _, v := range f.Variations {
			if wt, ok := p.Weights[v.ID]; ok {
				r.Weights = append(r.Weights, RolloutWeight{Variation: v.ID, Weight: wt})
			}
		}
		return rolloutAs{Rollout: r, contextKind: p.RolloutContextKind, bucketBy: p.RolloutBucketBy}, nil
	case ChangeTarget:
		return Target{Flag: orig.Flag, Remove: p.Remove, Variation: p.VariationID, Contexts: slices.Clone(p.Contexts), Env: orig.Env, WriteOptions: w}, nil
	case ChangeArchive:
		return Archive{Flag: orig.Flag, WriteOptions: w}, nil
	case ChangeRestore:
		return Restore{Flag: orig.Flag, WriteOptions: w}, nil
	}
	return nil, Errorf(KindInvalid, "Request `%s` can't be undone by this version of Flagbot.", orig.ID)
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// rolloutAs is a Rollout that buckets as the rollout it restores did.
type rolloutAs struct {
	Rollout
	contextKind, bucketBy string
}

// Plan implements ChangeCommand.
func (r rolloutAs) Plan(ctx context.Context, x *Executor, conn Connection, p string) (Change, error) {
	c, err := r.Rollout.Plan(ctx, x, conn, p)
	if err != nil || c.Patch == nil {
		return c, err
	}
	for i := range c.Patch.Instructions {
		c.Patch.Instructions[i].RolloutContextKind = r.contextKind
		c.Patch.Instructions[i].RolloutBucketBy = r.bucketBy
	}
	return c, nil
}
