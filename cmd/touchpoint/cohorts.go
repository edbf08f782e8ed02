package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// runCohorts is "touchpoint cohorts": cohort definitions, their
// membership and their syncs to AppsFlyer Audiences (admin API client).
func runCohorts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const verbs = "create, list, get, update, delete, versions, preview, compute, members, sync, syncs, runs or run"
	if len(args) == 0 {
		return errors.New("cohorts: want " + verbs)
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("cohorts "+verb, stderr, "[flags] [cohort_id]")
	c := clientFlags(fs)
	project := fs.String("project", "", "the analytics project's id")
	var definition *string
	defFlag := func() {
		definition = fs.String("definition", "", `definition as JSON, or @file: {"event":{"event_type":"purchase","op":"at_least","count":1,"within_days":7}}`)
	}
	defFlags := func() {
		fs.String("name", "", "cohort name")
		fs.String("description", "", "description")
		defFlag()
	}
	// base is the cohorts path of the project, with the cohort id when
	// the verb takes one.
	base := func(withID bool) (string, error) {
		if *project == "" {
			return "", errors.New("--project is required")
		}
		p := "/api/v1/projects/" + esc(*project) + "/cohorts"
		if !withID {
			return p, need(fs, 0, "no arguments")
		}
		if err := need(fs, 1, "the cohort id"); err != nil {
			return "", err
		}
		return p + "/" + esc(fs.Arg(0)), nil
	}
	body := func() (map[string]any, error) {
		b := setFields(fs, map[string]string{"name": "name", "description": "description"})
		if *definition != "" {
			def, err := readJSON(*definition)
			if err != nil {
				return nil, fmt.Errorf("--definition: %w", err)
			}
			b["definition"] = def
		}
		return b, nil
	}
	switch verb {
	case "create", "update":
		defFlags()
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := base(verb == "update")
		if err != nil {
			return err
		}
		b, err := body()
		if err != nil {
			return err
		}
		if verb == "create" {
			return c.do(ctx, "POST", path, b, stdout)
		}
		return c.do(ctx, "PATCH", path, b, stdout)
	case "list":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := base(false)
		if err != nil {
			return err
		}
		return c.do(ctx, "GET", path, nil, stdout)
	case "get", "delete", "versions", "compute", "syncs":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := base(true)
		if err != nil {
			return err
		}
		switch verb {
		case "delete":
			return c.do(ctx, "DELETE", path, nil, stdout)
		case "versions", "syncs":
			return c.do(ctx, "GET", path+"/"+verb, nil, stdout)
		case "compute":
			return c.do(ctx, "POST", path+"/compute", nil, stdout)
		}
		return c.do(ctx, "GET", path, nil, stdout)
	case "preview":
		defFlag()
		sample := fs.Int("sample", 100, "members to show")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := base(false)
		if err != nil {
			return err
		}
		if *definition == "" {
			return errors.New("--definition is required")
		}
		def, err := readJSON(*definition)
		if err != nil {
			return fmt.Errorf("--definition: %w", err)
		}
		return c.do(ctx, "POST", path+"/preview", map[string]any{"definition": def, "sample": *sample}, stdout)
	case "members":
		cursor := fs.String("cursor", "", "next_cursor of the previous page")
		limit := fs.Int("limit", 1000, "members per page")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := base(true)
		if err != nil {
			return err
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *cursor != "" {
			q.Set("cursor", *cursor)
		}
		return c.show(ctx, "GET", path+"/members?"+q.Encode(), nil, stdout, printCohortMembers)
	case "sync":
		fs.Int64("destination", 0, "an appsflyer-cohort destination of the project")
		fs.String("cadence", "once", "once, minute, hourly or daily")
		fs.Int("batch-size", 10000, "devices per Audiences API request")
		fs.Bool("enabled", true, "run on the cadence")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := base(true)
		if err != nil {
			return err
		}
		b := setFields(fs, map[string]string{"destination": "destination_id", "cadence": "cadence", "batch-size": "batch_size", "enabled": "enabled"})
		return c.do(ctx, "POST", path+"/syncs", b, stdout)
	case "runs", "run":
		sync := fs.String("sync", "", "the sync's id")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := base(true)
		if err != nil {
			return err
		}
		if *sync == "" {
			return errors.New("--sync is required")
		}
		path += "/syncs/" + esc(*sync)
		if verb == "run" {
			return c.do(ctx, "POST", path+"/run", nil, stdout)
		}
		return c.do(ctx, "GET", path+"/runs", nil, stdout)
	}
	return fmt.Errorf("cohorts: unknown verb %q: want %s", verb, verbs)
}

// readJSON reads a JSON value given inline or, after @, from a file.
func readJSON(s string) (json.RawMessage, error) {
	b := []byte(s)
	if file, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if b, err = os.ReadFile(file); err != nil {
			return nil, err
		}
	}
	if !json.Valid(b) {
		return nil, errors.New("not valid JSON")
	}
	return json.RawMessage(b), nil
}

// runAudiences is "touchpoint audiences": the audiences an app's
// Audiences API holds (admin API client).
func runAudiences(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const verbs = "list, get or members"
	if len(args) == 0 {
		return errors.New("audiences: want " + verbs)
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("audiences "+verb, stderr, "[flags] app_id [audience_id]")
	c := clientFlags(fs)
	switch verb {
	case "list":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the app id"); err != nil {
			return err
		}
		return c.show(ctx, "GET", "/api/v1/apps/"+esc(fs.Arg(0))+"/audiences", nil, stdout, printAudiences)
	case "get", "members":
		ident := fs.String("identifier", "", "only members of this identifier (gaid, idfa, cuid, amplitude_id…)")
		value := fs.String("value", "", "with --identifier: is this value a member?")
		cursor := fs.String("cursor", "", "next_cursor of the previous page")
		limit := fs.Int("limit", 1000, "members per page")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 2, "the app id and the audience id"); err != nil {
			return err
		}
		path := "/api/v1/apps/" + esc(fs.Arg(0)) + "/audiences/" + esc(fs.Arg(1))
		if verb == "get" {
			return c.do(ctx, "GET", path, nil, stdout)
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		for k, v := range map[string]string{"identifier": *ident, "value": *value, "cursor": *cursor} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return c.show(ctx, "GET", path+"/members?"+q.Encode(), nil, stdout, printAudienceMembers)
	}
	return fmt.Errorf("audiences: unknown verb %q: want %s", verb, verbs)
}
