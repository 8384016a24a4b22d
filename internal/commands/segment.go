package commands

import (
	"context"
	"strings"
)

// Segment shows one segment.
type Segment struct {
	Project string
	Env     string
	Key     string
	Output
}

// SegmentResult shows one segment.
type SegmentResult struct {
	Project string
	Env     string
	Segment SegmentRecord
}

func (SegmentResult) result() {}

// Name implements Command.
func (Segment) Name() string { return "segment" }

func segmentSpec() subcommand {
	return subcommand{
		entry: HelpEntry{
			Name:     "segment",
			Usage:    "segment <key> [env] [--project p]",
			Summary:  "Shows one segment: who is included, who is excluded and its rules.",
			Examples: []string{"segment beta-testers", "segment beta-testers staging --project mobile-app"},
		},
		options: readOptions(optProject, optEnv),
		parse:   parseSegment,
	}
}

func parseSegment(a *parseArgs) (Command, error) {
	if len(a.pos) == 0 {
		return nil, a.usagef("`segment` needs a segment key, e.g. `/flag segment beta-testers production`. `/flag segments` lists them.")
	}
	if err := a.atMost(2); err != nil {
		return nil, err
	}
	c := Segment{Key: a.pos[0], Output: a.output()}
	if err := a.key("segment key", c.Key); err != nil {
		return nil, err
	}
	var err error
	if c.Env, err = a.pick(1, optEnv, "environment"); err != nil {
		return nil, err
	}
	if c.Project, err = a.optionKey(optProject, "project key"); err != nil {
		return nil, err
	}
	return c, nil
}

// Run implements Command.
func (c Segment) Run(ctx context.Context, x *Executor, actor Actor) (Result, error) {
	conn, client, err := x.connected(ctx, actor)
	if err != nil {
		return nil, err
	}
	p, en, err := projectEnv(c.Project, c.Env, conn)
	if err != nil {
		return nil, err
	}
	seg, err := client.GetSegment(ctx, p, en, c.Key)
	if err == nil {
		return SegmentResult{Project: p, Env: en, Segment: seg}, nil
	}
	if KindOf(err) != KindNotFound {
		return nil, serviceError(ctx, err)
	}
	segs, lerr := client.ListSegments(ctx, p, en)
	if lerr != nil {
		if KindOf(lerr) == KindNotFound {
			return nil, x.scopeError(ctx, client, p, en, lerr)
		}
		return nil, serviceError(ctx, lerr)
	}
	keys := make([]string, 0, len(segs))
	for _, s := range segs {
		if strings.EqualFold(s.Key, c.Key) {
			return SegmentResult{Project: p, Env: en, Segment: s}, nil
		}
		keys = append(keys, s.Key)
	}
	return nil, &Error{Kind: KindNotFound, Msg: Textf("I can't find segment `%s` in `%s/%s`.", c.Key, p, en), Suggestions: closest(c.Key, keys), Err: err}
}
