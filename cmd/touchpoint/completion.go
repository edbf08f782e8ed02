package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// completionHelp follows the flags in "touchpoint completion -h".
const completionHelp = `
Prints a script that completes touchpoint's commands, subcommands and
flags. Load it in the shell's start-up file:

  bash   echo 'source <(touchpoint completion bash)' >> ~/.bashrc
  zsh    echo 'source <(touchpoint completion zsh)' >> ~/.zshrc   (after compinit)
  fish   touchpoint completion fish > ~/.config/fish/completions/touchpoint.fish
`

// runCompletion is "touchpoint completion bash|zsh|fish": a completion
// script made from the command tree (commandTree) and each command's own
// flag set (flagsOf), so a new command or flag is completed without more
// work.
func runCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const shells = "bash, zsh or fish"
	if len(args) == 0 {
		return errors.New("completion: want " + shells + `: source <(touchpoint completion bash)`)
	}
	shell, args := args[0], args[1:]
	if shell == "-h" || shell == "--help" {
		fmt.Fprint(stderr, "Usage: touchpoint completion bash|zsh|fish\n"+completionHelp)
		return flag.ErrHelp
	}
	fs := newFlagSet("completion "+shell, stderr, "")
	usage := fs.Usage
	fs.Usage = func() { usage(); fmt.Fprint(stderr, completionHelp) }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := need(fs, 0, "no arguments: touchpoint completion "+shell); err != nil {
		return err
	}
	var script func(io.Writer, []completionNode)
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		script = fishCompletion
	default:
		return fmt.Errorf("completion: unknown shell %q: want %s", shell, shells)
	}
	script(stdout, completionNodes(ctx))
	return nil
}

// completionNode is what a command line completes after a command's
// words (path; "" before the first): its subcommands and its flags.
type completionNode struct {
	path  string
	subs  []string
	flags []*flag.Flag
}

// completionNodes walks the command tree, asking every command for its
// flags.
func completionNodes(ctx context.Context) []completionNode {
	var nodes []completionNode
	var walk func(path []string, subs []command)
	walk = func(path []string, subs []command) {
		n := completionNode{path: strings.Join(path, " ")}
		for _, s := range subs {
			n.subs = append(n.subs, s.name)
		}
		if len(path) > 0 {
			n.flags, _ = flagsOf(ctx, path)
		}
		nodes = append(nodes, n)
		for _, s := range subs {
			walk(append(path[:len(path):len(path)], s.name), s.subs)
		}
	}
	walk(nil, commandTree())
	return nodes
}

// flagNames are the flags as they are typed: --name.
func flagNames(flags []*flag.Flag) []string {
	var out []string
	for _, f := range flags {
		out = append(out, "--"+f.Name)
	}
	return out
}

// describe is a flag's usage cut to a line, for the shells that show one.
func describe(f *flag.Flag) string {
	s := f.Usage
	if i := strings.IndexAny(s, ";("); i > 20 {
		s = s[:i]
	}
	return clip(strings.TrimSpace(s), 70)
}

// singleQuoted quotes s for sh and zsh: in single quotes, a quote inside
// closing them, escaped, and opening them again.
func singleQuoted(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuoted quotes s for fish, where \\ and \' are escapes even inside
// single quotes.
func fishQuoted(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// bashCompletion writes the bash script. _touchpoint walks the words
// typed so far down the tree, then offers the flags of the command
// reached when the word starts with -, else its subcommands; where it
// has none, bash's default (file names) completes.
func bashCompletion(w io.Writer, nodes []completionNode) {
	fmt.Fprint(w, `# bash completion for touchpoint, made by "touchpoint completion bash".
# Load it with: source <(touchpoint completion bash)

_touchpoint_subs() {
	case "$1" in
`)
	for _, n := range nodes {
		if len(n.subs) > 0 {
			fmt.Fprintf(w, "\t%q) echo %s ;;\n", n.path, strings.Join(n.subs, " "))
		}
	}
	fmt.Fprint(w, `	esac
}

_touchpoint_flags() {
	case "$1" in
`)
	for _, n := range nodes {
		if len(n.flags) > 0 {
			fmt.Fprintf(w, "\t%q) echo %s ;;\n", n.path, strings.Join(flagNames(n.flags), " "))
		}
	}
	fmt.Fprint(w, `	esac
}

_touchpoint() {
	local cur=${COMP_WORDS[COMP_CWORD]} node="" word i
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		[[ $word == -* ]] && continue
		[[ " $(_touchpoint_subs "$node") " == *" $word "* ]] || break
		node=${node:+$node }$word
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_touchpoint_flags "$node")" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$(_touchpoint_subs "$node")" -- "$cur"))
	fi
}

complete -o default -F _touchpoint touchpoint
`)
}

// zshCompletion writes the zsh script: the same walk as bash's, with the
// flags' descriptions.
func zshCompletion(w io.Writer, nodes []completionNode) {
	fmt.Fprint(w, `#compdef touchpoint
# zsh completion for touchpoint, made by "touchpoint completion zsh".
# Load it with: source <(touchpoint completion zsh) (after compinit), or
# save it as _touchpoint in a directory of $fpath.

_touchpoint_subs() {
	case "$1" in
`)
	for _, n := range nodes {
		if len(n.subs) > 0 {
			fmt.Fprintf(w, "\t%s) print -l -- %s ;;\n", singleQuoted(n.path), strings.Join(n.subs, " "))
		}
	}
	fmt.Fprint(w, `	esac
}

_touchpoint_flags() {
	case "$1" in
`)
	for _, n := range nodes {
		if len(n.flags) == 0 {
			continue
		}
		fmt.Fprintf(w, "\t%s) print -rl --", singleQuoted(n.path))
		for _, f := range n.flags {
			fmt.Fprintf(w, " \\\n\t\t%s", singleQuoted("--"+f.Name+":"+describe(f)))
		}
		fmt.Fprint(w, " ;;\n")
	}
	fmt.Fprint(w, `	esac
}

_touchpoint() {
	local node="" word i
	local -a subs flags
	for ((i = 2; i < CURRENT; i++)); do
		word=${words[i]}
		[[ $word == -* ]] && continue
		subs=(${(f)"$(_touchpoint_subs "$node")"})
		(( ${subs[(Ie)$word]} )) || break
		node=${node:+$node }$word
	done
	if [[ ${words[CURRENT]} == -* ]]; then
		flags=(${(f)"$(_touchpoint_flags "$node")"})
		_describe -t flags 'flag' flags
	else
		subs=(${(f)"$(_touchpoint_subs "$node")"})
		if (( ${#subs} )); then
			_describe -t commands 'command' subs
		else
			_files
		fi
	fi
}

if [[ $funcstack[1] == _touchpoint ]]; then
	_touchpoint "$@"   # autoloaded from $fpath
else
	compdef _touchpoint touchpoint
fi
`)
}

// fishCompletion writes the fish script: the same walk as bash's, the
// flags with their descriptions.
func fishCompletion(w io.Writer, nodes []completionNode) {
	fmt.Fprint(w, `# fish completion for touchpoint, made by "touchpoint completion fish".
# Save it as ~/.config/fish/completions/touchpoint.fish

function __touchpoint_subs
	switch "$argv[1]"
`)
	for _, n := range nodes {
		if len(n.subs) > 0 {
			fmt.Fprintf(w, "\t\tcase %s\n\t\t\tprintf '%%s\\n' %s\n", fishQuoted(n.path), strings.Join(n.subs, " "))
		}
	}
	fmt.Fprint(w, `	end
end

function __touchpoint_flags
	switch "$argv[1]"
`)
	for _, n := range nodes {
		if len(n.flags) == 0 {
			continue
		}
		fmt.Fprintf(w, "\t\tcase %s\n\t\t\tprintf '%%s\\n'", fishQuoted(n.path))
		for _, f := range n.flags {
			fmt.Fprintf(w, " \\\n\t\t\t\t%s", fishQuoted("--"+f.Name+"\t"+describe(f)))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, `	end
end

# The command the words typed so far reach: "", "apps", "apps forward"…
function __touchpoint_node
	set -l words (commandline -opc)
	set -e words[1]
	set -l node ''
	for word in $words
		string match -q -- '-*' $word; and continue
		contains -- $word (__touchpoint_subs "$node"); or break
		set node (string trim -- "$node $word")
	end
	echo $node
end

function __touchpoint_wants_sub
	string match -q -- '-*' (commandline -ct); and return 1
	set -l subs (__touchpoint_subs (__touchpoint_node))
	test (count $subs) -gt 0
end

function __touchpoint_wants_flag
	string match -q -- '-*' (commandline -ct)
end

complete -c touchpoint -f -n __touchpoint_wants_sub -a '(__touchpoint_subs (__touchpoint_node))'
complete -c touchpoint -f -n __touchpoint_wants_flag -a '(__touchpoint_flags (__touchpoint_node))'
`)
}
