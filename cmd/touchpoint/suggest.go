package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// levenshtein is the edit distance between a and b: how many single-rune
// insertions, deletions and substitutions turn one into the other.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// closest returns the candidate nearest to typed, or "" when none is close
// enough to be a likely typo: at most 2 edits (1 for a word of 3 runes or
// fewer, where 2 edits make anything look alike), or a third of the
// word's length for long words. The first of equally close ones wins.
func closest(typed string, candidates []string) string {
	typed = strings.ToLower(typed)
	n := len([]rune(typed))
	limit := max(2, n/3)
	if n <= 3 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := levenshtein(typed, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean is the suggestion to add to an error about typed, or "".
func didYouMean(typed string, candidates []string, spell func(string) string) string {
	if s := closest(typed, candidates); s != "" {
		return "; did you mean " + spell(s) + "?"
	}
	return ""
}

// spelledOut are the words some flag names abbreviate: people type the
// whole word (--address for --addr), often misspelled (--adress), which
// is far from the short name but near the word.
var spelledOut = map[string]string{"addr": "address", "dir": "directory"}

// closestFlag returns the flag of fs nearest to typed, compared with each
// name and with the name with its abbreviations spelled out; "" when none
// is close.
func closestFlag(fs *flag.FlagSet, typed string) string {
	var forms []string
	nameOf := map[string]string{}
	add := func(form, name string) {
		if _, ok := nameOf[form]; !ok {
			forms = append(forms, form)
			nameOf[form] = name
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		add(f.Name, f.Name)
		words := strings.Split(f.Name, "-")
		for i, w := range words {
			if long, ok := spelledOut[w]; ok {
				words[i] = long
			}
		}
		add(strings.Join(words, "-"), f.Name)
	})
	if s := closest(typed, forms); s != "" {
		return nameOf[s]
	}
	return ""
}

// flagError rewrites an error of the flag package for people: flags
// spelled with two dashes as the docs do, and an unknown flag answered
// with the nearest flag of the command. suggested says whether it names
// one (the usage then adds nothing).
func flagError(fs *flag.FlagSet, err error) (_ error, suggested bool) {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		hint := ""
		if s := closestFlag(fs, name); s != "" {
			hint = "; did you mean --" + s + "?"
		}
		return fmt.Errorf("unknown flag --%s%s", name, hint), hint != ""
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Errorf("flag needs an argument: --%s", name), false
	}
	if name, ok := strings.CutPrefix(msg, "invalid boolean flag "); ok {
		return fmt.Errorf("invalid boolean flag --%s", name), false
	}
	// invalid value "v" for flag -name: why, invalid boolean value "v" for -name: why
	for _, prefix := range []string{"invalid value ", "invalid boolean value "} {
		rest, ok := strings.CutPrefix(msg, prefix)
		if !ok {
			continue
		}
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil {
			break
		}
		rest = rest[len(quoted):]
		for _, by := range []string{" for flag -", " for -"} {
			if after, ok := strings.CutPrefix(rest, by); ok {
				return errors.New(prefix + quoted + strings.TrimSuffix(by, "-") + "--" + after), false
			}
		}
	}
	return err, false
}
