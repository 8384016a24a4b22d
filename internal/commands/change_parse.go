package commands

import (
	"strings"
	"unicode/utf8"
)

// Parsing that the change commands share.

// The options only change commands take.
const (
	optReason     = "reason"
	optVariations = "variations"
	optTags       = "tags"
	optTemporary  = "temporary"
)

// Limits on what change commands accept.
const (
	maxReasonRunes     = 500
	maxNameRunes       = 256
	maxNewVariations   = 20
	maxTargetContexts  = 100
	maxRolloutSlices   = 20
	rolloutTotal       = 100000 // LaunchDarkly rollout weights: thousandths of a percent
	writeOptionsHelp   = "Every change takes `--reason \"...\"` and `--project p`, and waits for a second person's approval (unless an admin exempted its environment with `/flag config exempt-envs`). `--at <time>` or `--in <duration>` applies it later, once approved."
	envScopedUsageTail = " [env] [--reason r] [--project p] [--at t | --in d]"
	flagWideUsageTail  = " [--reason r] [--project p] [--at t | --in d]"
)

// envScopedOptions are the options of a change in one environment.
func envScopedOptions() []string { return []string{optEnv, optReason, optProject, optAt, optIn} }

// flagWideOptions are the options of a change to a whole flag.
func flagWideOptions() []string { return []string{optReason, optProject, optAt, optIn} }

// writeOpts reads --project, --reason, --at and --in.
func (a *parseArgs) writeOpts() (WriteOptions, error) {
	var w WriteOptions
	var err error
	if w.Project, err = a.optionKey(optProject, "project key"); err != nil {
		return WriteOptions{}, err
	}
	if w.Schedule, err = a.scheduleOpts(); err != nil {
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

// parseFlagWide parses `archive`, `restore` and `delete`: a flag key and
// the write options, made into a command by mk.
func parseFlagWide(name string, mk func(flag string, w WriteOptions) Command) func(a *parseArgs) (Command, error) {
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
		return mk(flag, w), nil
	}
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
