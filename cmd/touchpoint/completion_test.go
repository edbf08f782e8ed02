package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/internal/testenv"
)

// TestCommandTree: the tree completion is made from is the commands run
// dispatches. Every command and subcommand of the tree is run's (a leaf
// parses flags of its own, which flagsOf reads), and every verb a command
// names in its "want …" error is in the tree.
func TestCommandTree(t *testing.T) {
	ctx := context.Background()
	var walk func(path []string, subs []command)
	walk = func(path []string, subs []command) {
		if len(subs) == 0 {
			flags, ok := flagsOf(ctx, path)
			if !ok && len(path) > 1 {
				t.Errorf("touchpoint %s: parses no flags: is it a command of run?", strings.Join(path, " "))
			}
			if slices.ContainsFunc(flags, func(f *flag.Flag) bool { return f.Name == "" }) {
				t.Errorf("touchpoint %s: a flag without a name", strings.Join(path, " "))
			}
			return
		}
		for _, s := range subs {
			walk(append(path[:len(path):len(path)], s.name), s.subs)
		}
		// The verbs the command asks for when given none; but bench's
		// (its usage has them, below), and those of a command that does
		// something without one (apps forward sets).
		if _, ok := flagsOf(ctx, path); ok || path[0] == "bench" {
			return
		}
		err := run(ctx, path, &bytes.Buffer{}, &bytes.Buffer{})
		m := regexp.MustCompile(`want ([a-z, -]+?)(?: or ([a-z-]+))? *(?:[:"(]|$)`).FindStringSubmatch(err.Error())
		if m == nil {
			t.Errorf("touchpoint %s: %v: names no verbs", strings.Join(path, " "), err)
			return
		}
		want := strings.Split(m[1], ", ")
		if m[2] != "" {
			want = append(want, m[2])
		}
		var got []string
		for _, s := range subs {
			got = append(got, s.name)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("touchpoint %s: the tree has %q, the command wants %q", strings.Join(path, " "), got, want)
		}
	}
	for _, c := range commandTree() {
		if c.run == nil {
			t.Errorf("%s: no run", c.name)
		}
		walk([]string{c.name}, c.subs)
	}
	// bench names its verbs in its usage.
	var usage bytes.Buffer
	run(ctx, []string{"bench"}, &bytes.Buffer{}, &usage)
	bench, _ := findCommand("bench")
	for _, m := range regexp.MustCompile(`touchpoint bench ([a-z]+)`).FindAllStringSubmatch(usage.String(), -1) {
		if !slices.ContainsFunc(bench.subs, func(c command) bool { return c.name == m[1] }) {
			t.Errorf("bench %s is not in the tree", m[1])
		}
	}
	if !slices.Equal(commands, func() (names []string) {
		for _, c := range commandTree() {
			names = append(names, c.name)
		}
		return names
	}()) {
		t.Errorf("commands %q are not the tree's", commands)
	}
}

// completionScript runs "touchpoint completion SHELL" into a file.
func completionScript(t *testing.T, shell string) (string, string) {
	t.Helper()
	out := cli(t, "completion", shell)
	file := filepath.Join(t.TempDir(), "touchpoint."+shell)
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return out, file
}

// TestCompletionScripts: each shell's script has every command, every
// subcommand and the flags of each, and the shell reads it.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			script, file := completionScript(t, shell)
			for _, n := range completionNodes(context.Background()) {
				for _, s := range n.subs {
					if !regexp.MustCompile(`[ \n]` + regexp.QuoteMeta(s) + `[ \n;]`).MatchString(script) {
						t.Errorf("%s: %q lacks %q", shell, n.path, s)
					}
				}
				if (len(n.subs) > 0 || len(n.flags) > 0) && n.path != "" && !strings.Contains(script, n.path) {
					t.Errorf("%s: no %q", shell, n.path)
				}
				for _, f := range n.flags {
					if !strings.Contains(script, "--"+f.Name) {
						t.Errorf("%s: %s lacks --%s", shell, n.path, f.Name)
					}
				}
			}
			check := map[string][]string{"bash": {"bash", "-n"}, "zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}}[shell]
			if _, err := exec.LookPath(check[0]); err != nil {
				testenv.Skip(t, "%s is not installed: `apt-get install -y %s`", shell, shell)
			}
			if out, err := exec.Command(check[0], append(check[1:], file)...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(check, " "), err, out)
			}
		})
	}
}

// completions are what each shell offers, by its completion function run
// in it, for these lines (the word being completed last).
var completions = []struct {
	line []string
	want []string
}{
	{[]string{"touchpoint", "del"}, []string{"deliveries"}},
	{[]string{"touchpoint", "de"}, []string{"deliveries", "demo", "destinations"}},
	{[]string{"touchpoint", "deliveries", ""}, []string{"get", "list", "retry"}},
	{[]string{"touchpoint", "apps", "forward", ""}, []string{"delete", "get", "set"}},
	{[]string{"touchpoint", "partners", "secrets", "re"}, []string{"revoke"}},
	{[]string{"touchpoint", "report", "--gr"}, []string{"--group-by"}},
	{[]string{"touchpoint", "report", "--"}, []string{"--admin-token", "--data-dir", "--field", "--from", "--group-by", "--json", "--server", "--to"}},
	{[]string{"touchpoint", "rates", "set", "--admin-token", "x", "2026-11-09", "--se"}, []string{"--server"}},
	{[]string{"touchpoint", "completion", ""}, []string{"bash", "fish", "zsh"}},
	// After an argument that is no subcommand: nothing of ours.
	{[]string{"touchpoint", "touches", "list", "com.example.game", ""}, nil},
}

// TestBashCompletion sources the script in bash and runs _touchpoint as
// bash does on a tab: COMP_WORDS and COMP_CWORD set, COMPREPLY read.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Skip(t, "bash is not installed")
	}
	_, file := completionScript(t, "bash")
	for _, tc := range completions {
		var words []string
		for _, w := range tc.line {
			words = append(words, singleQuoted(w))
		}
		script := `source "$1"
COMP_WORDS=(` + strings.Join(words, " ") + `)
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_touchpoint
printf '%s\n' "${COMPREPLY[@]}"`
		checkCompletion(t, tc.line, tc.want, exec.Command("bash", "-c", script, "bash", file))
	}
}

// TestZshCompletion sources the script in zsh and runs _touchpoint with
// words and CURRENT set, as the completion system does; _describe and
// _files, the system's, print what they are given.
func TestZshCompletion(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		testenv.Skip(t, "zsh is not installed: `apt-get install -y zsh`")
	}
	_, file := completionScript(t, "zsh")
	for _, tc := range completions {
		var words []string
		for _, w := range tc.line {
			words = append(words, singleQuoted(w))
		}
		script := `compdef() { :; }
_describe() { local -a items; items=("${(@P)${@[-1]}}"); print -rl -- ${items%%:*}; }
_files() { :; }
source "$1"
words=(` + strings.Join(words, " ") + `)
CURRENT=${#words}
_touchpoint | while read -r w; do [[ $w == ${words[CURRENT]}* ]] && print -r -- $w; done; true`
		checkCompletion(t, tc.line, tc.want, exec.Command("zsh", "-f", "-c", script, "zsh", file))
	}
}

// TestFishCompletion asks fish itself (complete -C) what it completes.
func TestFishCompletion(t *testing.T) {
	if _, err := exec.LookPath("fish"); err != nil {
		testenv.Skip(t, "fish is not installed: `apt-get install -y fish`")
	}
	_, file := completionScript(t, "fish")
	for _, tc := range completions {
		// The line as typed: the words have nothing to quote.
		line := strings.Join(tc.line, " ")
		script := `source $argv[1]; complete -C ` + singleQuoted(line) + ` | string replace -r '\t.*' ''; true`
		checkCompletion(t, tc.line, tc.want, exec.Command("fish", "--no-config", "-c", script, file))
	}
}

func checkCompletion(t *testing.T, line, want []string, cmd *exec.Cmd) {
	t.Helper()
	cmd.Dir = t.TempDir() // no file names to complete
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("%q: %v\n%s", line, err, exit.Stderr)
	} else if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%q completes %q, want %q", line, got, want)
	}
}

// TestCLIDocs: docs/cli.md lists every command, with its verbs.
func TestCLIDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "| `") {
			rows = append(rows, l)
		}
	}
	for _, n := range completionNodes(context.Background()) {
		if n.path == "" || strings.HasPrefix(n.path, "bench ") || strings.Count(n.path, " ") > 0 && len(n.subs) == 0 {
			continue
		}
		i := slices.IndexFunc(rows, func(r string) bool {
			cell, _, _ := strings.Cut(strings.TrimPrefix(r, "| "), " |")
			return strings.Contains(cell, "`"+n.path+"`")
		})
		if i < 0 {
			t.Errorf("docs/cli.md: no row of %q", n.path)
			continue
		}
		for _, s := range n.subs {
			if !regexp.MustCompile("[` ]" + regexp.QuoteMeta(s) + "[` ]").MatchString(rows[i]) {
				t.Errorf("docs/cli.md: the row of %q lacks %q", n.path, s)
			}
		}
	}
}
