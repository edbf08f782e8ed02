package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// configFlag is the flag naming a command's config file: a YAML mapping of
// the command's flag names to their values (docs/configuration.md). Only
// serve has it: a config file describes a server. The client commands'
// --server, --admin-token and --data-dir do not read it, so that a
// TOUCHPOINT_CONFIG exported for a server never points a client elsewhere.
const configFlag = "config"

// listFlags are the flags that take a comma-separated list: in a config
// file, a YAML list or a comma-separated string.
var listFlags = map[string]bool{"trusted-proxies": true}

// applyConfigFile sets every flag of fs that neither the command line nor
// the environment set (parseFlags did those) from the config file --config
// names, if any: a flag wins over its variable, which wins over the file,
// which wins over the default. It returns where each value it set was
// written, "FILE:LINE" by flag name, for errors found later (placeError).
func applyConfigFile(fs *flag.FlagSet) (map[string]string, error) {
	f := fs.Lookup(configFlag)
	if f == nil || f.Value.String() == "" {
		return nil, nil
	}
	path := f.Value.String()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", configFlag, err)
	}
	settings, err := parseConfig(fs, path, b)
	if err != nil {
		return nil, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	origins := map[string]string{}
	for _, s := range settings {
		if given[s.name] {
			continue
		}
		if err := fs.Set(s.name, s.value); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %q is not %s", path, s.line, s.name, s.value, wantValue(fs.Lookup(s.name)))
		}
		origins[s.name] = fmt.Sprintf("%s:%d", path, s.line)
	}
	return origins, nil
}

// placeError prefixes an error about a flag ("--log-level …") whose value
// came from the config file with the file and line that set it, so a value
// the flag took but the command refused is found as easily as one it
// could not parse.
func placeError(err error, origins map[string]string) error {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	name, ok := strings.CutPrefix(msg, "--")
	if !ok {
		return err
	}
	if i := strings.IndexAny(name, " :="); i >= 0 {
		name = name[:i]
	}
	if at, ok := origins[name]; ok {
		return fmt.Errorf("%s: %w", at, err)
	}
	return err
}

// setting is one key of a config file, its value as a flag would take it.
type setting struct {
	name, value string
	line        int
}

// parseConfig reads a config file's settings: every key must be a flag of
// fs (but --config), every value one a flag takes. Errors name the file
// and the line.
func parseConfig(fs *flag.FlagSet, path string, b []byte) ([]setting, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil // an empty file sets nothing
	} else if err != nil {
		// "yaml: line 3: …" as "FILE:3: …", like every other error here.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if line, text, ok := strings.Cut(rest, ": "); ok {
				return nil, fmt.Errorf("%s:%s: %s", path, line, text)
			}
		}
		return nil, fmt.Errorf("%s: %s", path, msg)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: one YAML document expected, found another", path, more.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of flag names to values (addr: \":8080\")", path, root.Line)
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != configFlag {
			names = append(names, f.Name)
		}
	})
	var out []setting
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		at := fmt.Sprintf("%s:%d", path, k.Line)
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: want a flag name as the key", at)
		}
		name := k.Value
		if name == configFlag {
			return nil, fmt.Errorf("%s: %s: a config file cannot name another", at, name)
		}
		if !slices.Contains(names, name) {
			// data_dir, --data-dir and DATA-DIR are near enough to data-dir.
			typed := strings.ReplaceAll(strings.TrimLeft(name, "-"), "_", "-")
			return nil, fmt.Errorf("%s: unknown key %q%s", at, name, didYouMean(typed, names, strconv.Quote))
		}
		if first, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s: %s: set twice (first on line %d)", at, name, first)
		}
		seen[name] = k.Line
		value, err := configValue(name, v)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", path, v.Line, name, err)
		}
		out = append(out, setting{name: name, value: value, line: v.Line})
	}
	return out, nil
}

// configValue is the flag value of a YAML value: a scalar as written (the
// flag parses it), or for a list flag a list, joined with commas.
func configValue(name string, v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", errors.New(`no value: write "" for an empty one, or remove the key for the default`)
		}
		return v.Value, nil
	case yaml.SequenceNode:
		if !listFlags[name] {
			return "", errors.New("takes one value, not a list")
		}
		var items []string
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return "", fmt.Errorf("line %d: want an address or a CIDR in the list", item.Line)
			}
			items = append(items, item.Value)
		}
		return strings.Join(items, ","), nil
	case yaml.AliasNode:
		return configValue(name, v.Alias)
	}
	return "", errors.New("takes one value, not a mapping")
}

// wantValue says what a flag takes, for an error about a value.
func wantValue(f *flag.Flag) string {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case bool:
			return "true or false"
		case int, int64, uint, uint64:
			return "a whole number"
		case time.Duration:
			return "a duration such as 30s, 5m or 720h"
		}
	}
	return "a value it takes"
}
