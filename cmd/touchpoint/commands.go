package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/touchpointhq/touchpoint/chart"
)

// command is a node of the command tree: run dispatches on its name,
// "did you mean" suggests from the names, and "touchpoint completion"
// completes the names and each command's flags from it.
type command struct {
	name string
	// run runs a top-level command with the arguments after its name; it
	// dispatches its subcommands itself.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// subs are the subcommands (verbs) run knows.
	subs []command
}

// verbs are subcommands without subcommands of their own.
func verbs(names ...string) []command {
	out := make([]command, len(names))
	for i, n := range names {
		out[i] = command{name: n}
	}
	return out
}

// commandTree is every command, in the order the usage lists them. A
// command's flags are not listed here: flagsOf asks the command itself.
func commandTree() []command {
	return []command{
		{name: "serve", run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return (&ServeCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, args)
		}},
		{name: "demo", run: runDemo},
		{name: "apps", run: runApps, subs: append(verbs("create", "list", "get", "update", "rotate-key"),
			command{name: "forward", subs: verbs("get", "set", "delete")}, command{name: "clock"})},
		{name: "partners", run: runPartners, subs: append(verbs("create", "list", "get", "update", "delete"),
			command{name: "secrets", subs: verbs("create", "list", "revoke")}, command{name: "report"})},
		{name: "touches", run: runTouches, subs: verbs("list", "get", "count")},
		{name: "links", run: runLinks, subs: verbs("build", "sign", "test")},
		{name: "installs", run: runInstalls, subs: verbs("get")},
		{name: "report", run: runReport},
		{name: "deliveries", run: runDeliveries, subs: verbs("list", "get", "retry")},
		{name: "rates", run: runRates, subs: verbs("get", "set")},
		{name: "projects", run: runProjects, subs: verbs("create", "list", "get", "update", "rotate-key", "user", "events", "pending")},
		{name: "destinations", run: runDestinations, subs: verbs("create", "list", "get", "update", "delete")},
		{name: "cohorts", run: runCohorts, subs: verbs("create", "list", "get", "update", "delete", "versions", "preview", "compute",
			"members", "sync", "syncs", "runs", "run")},
		{name: "charts", run: runCharts, subs: verbs(chart.Kinds...)},
		{name: "audiences", run: runAudiences, subs: verbs("list", "get", "members")},
		{name: "bench", run: runBench, subs: verbs("seed", "backlog", "events", "cohort", "charts", "dashboard", "uploads")},
		{name: "migrate-data", run: runMigrateData},
		{name: "backup", run: runBackup},
		{name: "restore", run: runRestore},
		{name: "version", run: runVersion},
		{name: "completion", run: runCompletion, subs: verbs("bash", "zsh", "fish")},
		{name: "help", run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			_, err := fmt.Fprint(stdout, usage)
			return err
		}},
	}
}

// commands are the names of the commands, for "did you mean".
var commands []string

func init() {
	// Not an initializer: the tree's commands (completion) call run,
	// which reads commands.
	for _, c := range commandTree() {
		commands = append(commands, c.name)
	}
}

// findCommand returns the top-level command called name.
func findCommand(name string) (command, bool) {
	tree := commandTree()
	i := slices.IndexFunc(tree, func(c command) bool { return c.name == name })
	if i < 0 {
		return command{}, false
	}
	return tree[i], true
}

// flagsProbe, given as the first argument after a command's words, makes
// the command's parseFlags answer with its flag set (a *flagSetError)
// instead of parsing: flagsOf learns a command's flags from the command
// itself, so completion cannot miss one.
const flagsProbe = "\x00flags"

// flagSetError carries a command's flag set out of run.
type flagSetError struct{ fs *flag.FlagSet }

func (e *flagSetError) Error() string { return "the flags of " + e.fs.Name() }

// flagsOf returns the flags of the command path names ("partners",
// "secrets", "create"), in name order; ok is false when the command
// parses no flags of its own there (it only dispatches).
func flagsOf(ctx context.Context, path []string) (flags []*flag.Flag, ok bool) {
	err := run(ctx, append(slices.Clip(path), flagsProbe), io.Discard, io.Discard)
	var fe *flagSetError
	if !errors.As(err, &fe) {
		return nil, false
	}
	fe.fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	return flags, true
}
