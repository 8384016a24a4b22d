// Command bot runs Flagbot: a Slack Socket Mode app for LaunchDarkly feature
// flags. All configuration comes from the environment; run `bot -help` for
// the list.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
)

// version and commit are set with -ldflags at build time.
var (
	version = "dev"
	commit  = "none"
)

func main() {
	runtime.MemProfileRate = memProfileRate(os.Getenv) // first: see memProfileRate
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "flagbot:", err)
		os.Exit(1)
	}
}
