// Command touchpoint is the Touchpoint server and its command-line client.
//
//	touchpoint serve                 run the server
//	touchpoint demo                  a server with simulated traffic, set up end to end
//	touchpoint apps …                manage apps, their analytics forward (admin API client)
//	touchpoint partners …            manage partners, signing secrets
//	touchpoint touches …             read recorded clicks and impressions
//	touchpoint links build|sign|test make and check attribution links
//	touchpoint installs get          explain a device's attribution
//	touchpoint report                clicks, installs, cost and revenue by source
//	touchpoint deliveries …          the outbox: postbacks, forwards, streamed events; retry
//	touchpoint rates get|set         a day's exchange rates to US dollars
//	touchpoint projects …            analytics projects, users, events
//	touchpoint destinations …        a project's event streams to AppsFlyer
//	touchpoint cohorts …             cohorts, their members, syncs to AppsFlyer Audiences
//	touchpoint charts …              segmentation, funnel, retention and LTV charts
//	touchpoint audiences …           the audiences the Audiences API holds
//	touchpoint bench seed|events|cohort|charts  benchmark helpers
//	touchpoint migrate-data          copy the embedded store into PostgreSQL
//	touchpoint backup|restore        back up a running server's embedded store; restore it
//	touchpoint version               the version, commit and Go it was built with
//	touchpoint completion bash|zsh|fish  shell completion (commands.go has the tree)
//
// What a person reads (report, touches, installs get, deliveries, member
// lists, charts) prints as a table; --json prints the server's answer as
// it is, --field some of its fields.
//
// Some flags can also be set with an environment variable, TOUCHPOINT_ and
// the flag's name in upper case with dashes as underscores (--data-dir is
// TOUCHPOINT_DATA_DIR): every flag of serve, and the global flags of the
// client commands, --server, --admin-token and --data-dir. A command's own
// flags (--name, --platform, --json…) do not read the environment. A flag on
// the command line wins. Serve also reads a YAML config file, --config FILE
// (config.go), below both; the client commands do not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "touchpoint:", err)
		}
		os.Exit(1)
	}
}

const usage = `Touchpoint: self-hosted attribution (AppsFlyer/Adjust role) and product analytics.

Usage:
  touchpoint serve [flags]                       run the server
  touchpoint demo [flags]                        a server on a fresh store, set up end to end,
                                                 with simulated traffic (docs/demo.md)
  touchpoint apps create|list|get|update|rotate-key|forward|clock   manage apps
  touchpoint apps forward get|set|delete         an app's forward of its installs to analytics
  touchpoint partners create|list|get|update|delete|secrets|report
  touchpoint touches list|get|count              read clicks and impressions
  touchpoint links build|sign|test               make and check attribution links
  touchpoint installs get                        explain a device's attribution
  touchpoint report                              clicks, installs, cost, revenue by source
  touchpoint deliveries list|get|retry           postbacks, forwards and streamed events owed or sent
  touchpoint rates get|set DATE [CUR=RATE…]      a UTC day's exchange rates (US dollars per unit)
  touchpoint projects create|list|get|update|rotate-key   analytics projects (Amplitude role)
  touchpoint projects user|events|pending         read users, events, held attributions
  touchpoint destinations create|list|get|update|delete   a project's event streams to AppsFlyer
  touchpoint cohorts create|list|get|update|delete|versions|preview|compute|members
  touchpoint cohorts sync|syncs|runs|run         sync cohorts to AppsFlyer Audiences
  touchpoint charts segmentation|funnel|retention|ltv   analytics charts as tables
                                                 (--json: the server's JSON; -h: flags, --where syntax)
  touchpoint audiences list|get|members          audiences the Audiences API holds
  touchpoint bench seed|events|cohort|charts     benchmark helpers
  touchpoint migrate-data --from DIR --to URL    copy the embedded store of a stopped server
                                                 into an empty PostgreSQL database
  touchpoint backup --out FILE                   back up a running server's embedded store
  touchpoint restore --from FILE --data-dir DIR  check a backup and restore it (--check: only check)
  touchpoint version [--json]                    the version, commit and Go it was built with
  touchpoint completion bash|zsh|fish            a shell completion script (-h: how to load it)

Tables are for people: --json prints the server's answer as it is, and
--field a,b only those fields of it (docs/cli.md).

Run "touchpoint <command> -h" for a command's flags. Every flag of serve,
and --server, --admin-token and --data-dir of the client commands, also
reads an environment variable: TOUCHPOINT_ + its name in upper case, dashes
as underscores (--data-dir → TOUCHPOINT_DATA_DIR); -h names it. A command's
own flags (--name, --platform, --json…) do not. Serve also takes its flags
from a YAML file, --config FILE (docs/configuration.md).
`

// run dispatches a command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	if cmd == "-h" || cmd == "--help" {
		cmd = "help"
	}
	// The commands are in commandTree (commands.go), which completion
	// reads too.
	if c, ok := findCommand(cmd); ok {
		return c.run(ctx, rest, stdout, stderr)
	}
	if hint := didYouMean(cmd, commands, strconv.Quote); hint != "" {
		return fmt.Errorf("unknown command %q%s", cmd, hint)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// parseFlags parses args into fs, allowing flags after positional
// arguments ("touches list com.example.game --pid net"), then fills every
// flag that reads the environment (readsEnv) and was not given from its
// TOUCHPOINT_* variable.
//
// A flag error names flags with two dashes, as the docs do, and an unknown
// flag is answered with the nearest flag of the command.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if len(args) > 0 && args[0] == flagsProbe {
		return &flagSetError{fs} // flagsOf asks which flags fs has
	}
	// The flag package prints its own message and the usage on an error;
	// hold both back to say it better below.
	usage, output := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(output) }()
	printUsage := func() {
		fs.SetOutput(output)
		defer fs.SetOutput(io.Discard)
		if usage == nil { // the flag package's default (the bench flag sets)
			fmt.Fprintf(output, "Usage of %s:\n", fs.Name())
			fs.PrintDefaults()
			return
		}
		usage()
	}
	parse := func(args []string) error {
		err := fs.Parse(args)
		if err == nil {
			return nil
		}
		if errors.Is(err, flag.ErrHelp) {
			printUsage()
			return err
		}
		err, suggested := flagError(fs, err)
		if !suggested {
			printUsage()
		}
		return err
	}
	var positional []string
	for {
		if err := parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := parse(append([]string{"--"}, positional...)); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil || !readsEnv(fs, f.Name) {
			return
		}
		name := EnvName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}

// globalFlags are the flags every client command shares (clientFlags adds
// them): where the server is and how to reach its admin API, the same for
// every command, so a shell may well export them.
var globalFlags = []string{"server", "admin-token", "data-dir"}

// envFlagSets are the commands every flag of which reads the environment:
// a server is configured by its environment (containers, systemd units).
var envFlagSets = map[string]bool{"serve": true}

// readsEnv says whether flag name of fs reads its TOUCHPOINT_* variable:
// every flag of an envFlagSets command, and the global flags of a client
// command (one that has them all). A command's own flags do not: a variable
// left in a shell (TOUCHPOINT_NAME, TOUCHPOINT_PLATFORM) must not silently
// change what an unrelated command does. Nor does a bench's --data-dir or
// --server, which name a scratch store and a loopback server of its own.
func readsEnv(fs *flag.FlagSet, name string) bool {
	if envFlagSets[fs.Name()] {
		return true
	}
	for _, g := range globalFlags {
		if fs.Lookup(g) == nil {
			return false
		}
	}
	return slices.Contains(globalFlags, name)
}

// EnvName is the environment variable of a flag.
func EnvName(flagName string) string {
	return "TOUCHPOINT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet returns a flag set whose usage names the environment variables
// of the flags that read one.
func newFlagSet(name string, stderr io.Writer, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		header := "Flags:"
		fs.VisitAll(func(f *flag.Flag) {
			if readsEnv(fs, f.Name) {
				header = "Flags (those followed by a TOUCHPOINT_ variable also read it; the command line wins):"
			}
		})
		fmt.Fprintf(stderr, "Usage: touchpoint %s %s\n\n%s\n", name, args, header)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s", f.Name)
			if readsEnv(fs, f.Name) {
				fmt.Fprintf(stderr, " (%s)", EnvName(f.Name))
			}
			fmt.Fprintf(stderr, "\n    \t%s", f.Usage)
			if f.DefValue != "" {
				fmt.Fprintf(stderr, " (default %q)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
	return fs
}
