package commands

import (
	"context"
	"strings"
)

// Command is a parsed `/flag` subcommand: one value that knows how to run
// itself. Each lives in a file of its own (show.go, on.go, …) with its help
// row, its parser and its result type; the table in table.go lists them.
//
// Run does the command's work for actor. Failures are *Error values
// classified by Kind (or a *UsageError); their Msg is safe to show the
// user. Executor.Execute, not Run, is what transports call: it refuses
// outsiders and applies the rules every command shares.
type Command interface {
	// Name is the subcommand's name as listed in help, e.g. "show".
	Name() string
	Run(ctx context.Context, x *Executor, actor Actor) (Result, error)
}

// ChangeCommand is a Command that changes LaunchDarkly. Its Run files a
// change request under the two-person rule (requestChange); the methods
// below are what filing one needs.
type ChangeCommand interface {
	Command
	// Options returns the --project and --reason given.
	Options() WriteOptions
	// Plan validates the command against LaunchDarkly, in project (already
	// resolved), and returns the change that would carry it out: Kind,
	// Project, Env, Flag, the write, the versions it was computed from and
	// the diff people read. It writes nothing.
	Plan(ctx context.Context, x *Executor, conn Connection, project string) (Change, error)
	// Args writes the command back as the words after "/flag" and its
	// name, with the environment resolved to scope.Env when that is set,
	// so the text re-runs the same change whatever the defaults become
	// (Request again).
	Args(scope Scope) []string
}

// Scope is where a change applies: project and, for environment-scoped
// changes, env.
type Scope struct {
	Project string
	Env     string
}

// Result is what a command produced: plain data that a transport renders.
// Every result type implements it.
type Result interface{ result() }

// Noticed is a result with something to say first: what the command did on
// the way that the user should know (the workspace's defaults chosen on
// first use). Transports show Notice, then Result as usual.
type Noticed struct {
	Result Result
	Notice Text
}

func (Noticed) result() {}

// SplitNotice returns the result inside r and its notice when r is a
// Noticed, else r itself and no notice.
func SplitNotice(r Result) (Result, Text) {
	if n, ok := r.(Noticed); ok {
		return n.Result, n.Notice
	}
	return r, nil
}

// Output holds the options every read command shares.
type Output struct {
	// Share posts the answer in the channel instead of only to the caller.
	Share bool
}

// Shared reports whether the answer should be posted in the channel.
func (o Output) Shared() bool { return o.Share }

// IsShared reports whether cmd asked for its answer to be posted in channel.
func IsShared(cmd Command) bool {
	s, ok := cmd.(interface{ Shared() bool })
	return ok && s.Shared()
}

// WriteOptions are the options every change command takes.
type WriteOptions struct {
	Project string // --project; empty means the workspace's default project
	Reason  string // --reason; why the change is wanted, shown to approvers and in LaunchDarkly's audit log
	// Schedule is --at or --in: when the change applies once approved.
	Schedule Schedule
}

// Options implements ChangeCommand.
func (w WriteOptions) Options() WriteOptions { return w }

// IsWrite reports whether cmd changes LaunchDarkly.
func IsWrite(cmd Command) bool {
	_, ok := cmd.(ChangeCommand)
	return ok
}

// CommandText writes a change command back as the text after "/flag" that
// parses to it: what a change records and what "Request again" re-runs.
// Project and env are resolved to scope where it sets them; --project,
// --reason and --at or --in follow.
func CommandText(cmd ChangeCommand, scope Scope) string {
	w := append([]string{cmd.Name()}, cmd.Args(scope)...)
	p := scope.Project
	if p == "" {
		p = cmd.Options().Project
	}
	if p != "" {
		w = append(w, "--project", p)
	}
	if r := cmd.Options().Reason; r != "" {
		w = append(w, "--reason", quoteArg(r))
	}
	switch s := cmd.Options().Schedule; {
	case s.In > 0:
		w = append(w, "--"+optIn, s.In.String())
	case s.At != "":
		w = append(w, "--"+optAt, quoteArg(s.At))
	}
	return strings.Join(w, " ")
}
