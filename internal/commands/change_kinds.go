package commands

// ChangeKind is what a change does: one per change command.
type ChangeKind string

// The kinds of change. ChangeKinds lists them all; a test checks that each
// has an entry in kindTable and a command that files it.
const (
	ChangeOn           ChangeKind = "on"
	ChangeOff          ChangeKind = "off"
	ChangeServe        ChangeKind = "serve"
	ChangeRollout      ChangeKind = "rollout"
	ChangeOffVariation ChangeKind = "offvariation"
	ChangeTarget       ChangeKind = "target"
	ChangeCreate       ChangeKind = "create"
	ChangeArchive      ChangeKind = "archive"
	ChangeRestore      ChangeKind = "restore"
	ChangeDelete       ChangeKind = "delete"
	ChangeKill         ChangeKind = "kill" // break-glass: off at once, signed off afterwards
)

// ChangeKinds returns every kind of change, in help order.
func ChangeKinds() []ChangeKind {
	return []ChangeKind{ChangeOn, ChangeOff, ChangeServe, ChangeRollout, ChangeOffVariation, ChangeTarget, ChangeCreate, ChangeArchive, ChangeRestore, ChangeDelete, ChangeKill}
}

// kindInfo is what the core knows about one kind of change once it is
// stored: how to say what it does and what the flag looks like afterwards.
type kindInfo struct {
	// verb says what the change does, after "wants to": "turn on
	// `new-checkout` in production".
	verb func(c Change) Text
	// state describes the part of f a change of this kind is about, as it
	// is now ("`x` is now off in `production`"); nil Text when f does not
	// say.
	state func(c Change, f Flag) Text
}

// kindTable returns the description of every kind.
func kindTable() map[ChangeKind]kindInfo {
	in := func(c Change) Text {
		if c.Env == "" {
			return nil
		}
		return Text{Plain(" in "), Strong(c.Env)}
	}
	onOffState := func(c Change, f Flag) Text {
		if fe, ok := f.Environments[c.Env]; ok {
			return Textf("`%s` is now %s in `%s`", f.Key, onOff(fe.On), c.Env)
		}
		return nil
	}
	serveState := func(c Change, f Flag) Text {
		if fe, ok := f.Environments[c.Env]; ok {
			return Textf("`%s` now serves %s by default in `%s`", f.Key, describeServe(f, fe.Fallthrough), c.Env)
		}
		return nil
	}
	archivedState := func(_ Change, f Flag) Text {
		if f.Archived {
			return Textf("`%s` is now archived", f.Key)
		}
		return Textf("`%s` is now not archived", f.Key)
	}
	none := func(Change, Flag) Text { return nil }
	return map[ChangeKind]kindInfo{
		ChangeOn:      {verb: func(c Change) Text { return Textf("turn on `%s`%s", c.Flag, in(c)) }, state: onOffState},
		ChangeOff:     {verb: func(c Change) Text { return Textf("turn off `%s`%s", c.Flag, in(c)) }, state: onOffState},
		ChangeServe:   {verb: func(c Change) Text { return Textf("change what `%s` serves by default%s", c.Flag, in(c)) }, state: serveState},
		ChangeRollout: {verb: func(c Change) Text { return Textf("roll out `%s`%s", c.Flag, in(c)) }, state: serveState},
		ChangeOffVariation: {
			verb: func(c Change) Text { return Textf("change the off variation of `%s`%s", c.Flag, in(c)) },
			state: func(c Change, f Flag) Text {
				if fe, ok := f.Environments[c.Env]; ok && fe.OffVariation != nil {
					return Textf("`%s` now serves %s while off in `%s`", f.Key, variationLabel(f, *fe.OffVariation), c.Env)
				}
				return nil
			},
		},
		ChangeTarget:  {verb: func(c Change) Text { return Textf("change the targets of `%s`%s", c.Flag, in(c)) }, state: none},
		ChangeCreate:  {verb: func(c Change) Text { return Textf("create flag `%s`", c.Flag) }, state: none},
		ChangeArchive: {verb: func(c Change) Text { return Textf("archive `%s`", c.Flag) }, state: archivedState},
		ChangeRestore: {verb: func(c Change) Text { return Textf("restore `%s`", c.Flag) }, state: archivedState},
		ChangeDelete:  {verb: func(c Change) Text { return Textf("delete `%s` from every environment, for good", c.Flag) }, state: none},
		ChangeKill:    {verb: func(c Change) Text { return Textf("kill `%s`%s (turn it off at once)", c.Flag, in(c)) }, state: onOffState},
	}
}

// Verb says in a few words what c does, to follow "wants to": "turn on
// `new-checkout` in production".
func (c Change) Verb() Text {
	if k, ok := kindTable()[c.Kind]; ok {
		return k.verb(c)
	}
	// A kind this version does not know (a record from a newer replica).
	return Textf("%s `%s`", string(c.Kind), c.Flag)
}

// currentState describes the part of f that c is about, as it is now.
func currentState(c Change, f Flag) Text {
	if k, ok := kindTable()[c.Kind]; ok {
		return k.state(c, f)
	}
	return nil
}
