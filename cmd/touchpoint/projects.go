package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// runProjects is "touchpoint projects": analytics projects and what they
// hold (admin API client).
func runProjects(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const verbs = "create, list, get, update, rotate-key, user, events or pending"
	if len(args) == 0 {
		return errors.New("projects: want " + verbs)
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("projects "+verb, stderr, "[flags] [project_id]")
	c := clientFlags(fs)
	apps := func() *string { return fs.String("apps", "", "linked app ids, comma-separated") }
	limits := func() {
		fs.Int("http-eps", 30, "events per second per device or user on /2/httpapi")
		fs.Int("batch-eps", 1000, "events per second per device or user on /batch")
		fs.String("time-zone", "UTC", "the IANA time zone charts count days in, like Europe/Berlin")
	}
	body := func(appList *string) map[string]any {
		b := setFields(fs, map[string]string{"name": "name", "time-zone": "time_zone", "test-mode": "test_mode", "test-clock": "test_clock"})
		if l := setFields(fs, map[string]string{"http-eps": "http_eps", "batch-eps": "batch_eps"}); len(l) > 0 {
			b["limits"] = l
		}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "apps" {
				list := []string{}
				for _, a := range strings.Split(*appList, ",") {
					if a = strings.TrimSpace(a); a != "" {
						list = append(list, a)
					}
				}
				b["apps"] = list
			}
		})
		return b
	}
	project := func(what string) (string, error) {
		if err := need(fs, 1, what); err != nil {
			return "", err
		}
		return "/api/v1/projects/" + esc(fs.Arg(0)), nil
	}
	switch verb {
	case "create":
		fs.String("name", "", "project name")
		a := apps()
		limits()
		fs.Bool("test-mode", false, "give the project a test clock that stands still until moved (POST …/test_clock)")
		fs.String("test-clock", "", "the test clock's start, RFC 3339 like 2026-11-09T12:00:00Z (default: now)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 0, "no arguments: touchpoint projects create --name Game --apps com.example.game"); err != nil {
			return err
		}
		return c.doShowingKeys(ctx, "POST", "/api/v1/projects", body(a), stdout, stderr)
	case "list":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return c.do(ctx, "GET", "/api/v1/projects", nil, stdout)
	case "get", "pending":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := project("the project id")
		if err != nil {
			return err
		}
		if verb == "pending" {
			path += "/attributions/pending"
		}
		return c.do(ctx, "GET", path, nil, stdout)
	case "update":
		fs.String("name", "", "project name")
		a := apps()
		limits()
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := project("the project id")
		if err != nil {
			return err
		}
		return c.do(ctx, "PATCH", path, body(a), stdout)
	case "rotate-key":
		key := fs.String("key", "", "the key to replace: api_key or secret_key (the old one stops working at once)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := project("the project id: touchpoint projects rotate-key --key api_key 1")
		if err != nil {
			return err
		}
		return c.doShowingKeys(ctx, "POST", path+"/keys/rotate", map[string]string{"key": *key}, stdout, stderr)
	case "user":
		userID := fs.String("user-id", "", "the user's user_id")
		deviceID := fs.String("device-id", "", "one of the user's device ids")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		path, err := project("the project id: touchpoint projects user --user-id u-1 1")
		if err != nil {
			return err
		}
		q := url.Values{}
		if *userID != "" {
			q.Set("user_id", *userID)
		}
		if *deviceID != "" {
			q.Set("device_id", *deviceID)
		}
		return c.do(ctx, "GET", path+"/users?"+q.Encode(), nil, stdout)
	case "events":
		cursor := fs.String("cursor", "", "next_cursor of the previous page")
		limit := fs.Int("limit", 100, "events per page")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 2, "the project id and amplitude id: touchpoint projects events 1 42"); err != nil {
			return err
		}
		q := url.Values{"limit": {fmt.Sprint(*limit)}}
		if *cursor != "" {
			q.Set("cursor", *cursor)
		}
		return c.do(ctx, "GET", "/api/v1/projects/"+esc(fs.Arg(0))+"/users/"+esc(fs.Arg(1))+"/events?"+q.Encode(), nil, stdout)
	}
	return fmt.Errorf("projects: unknown verb %q: want %s", verb, verbs)
}
