package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// runDestinations is "touchpoint destinations": a project's event streams
// to AppsFlyer's S2S in-app events API (appsflyer-events), and the
// AppsFlyer Audiences its cohorts sync to (appsflyer-cohort) (admin API
// client).
func runDestinations(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const verbs = "create, list, get, update or delete"
	if len(args) == 0 {
		return errors.New("destinations: want " + verbs)
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("destinations "+verb, stderr, "--project ID [flags] [destination_id]")
	c := clientFlags(fs)
	project := fs.String("project", "", "the analytics project's id")
	var eventTypes, where *string
	if verb == "create" || verb == "update" {
		fs.String("name", "", "the destination's name")
		fs.String("appsflyer-app-id", "", "the app's id in AppsFlyer (an iOS app's starts with \"id\", like id123456789)")
		fs.String("key", "", "appsflyer-events: the app's dev key (S2S key), sent with every event")
		fs.String("url", "", "the attribution server's base URL, like https://api3.appsflyer.com (default: this server)")
		eventTypes = fs.String("event-types", "", "appsflyer-events: the event types to send, comma-separated (\"\": every event)")
		where = fs.String("where", "", "appsflyer-events: send only events whose property is (not) one of the values: [event:|user:]PROPERTY is|is not V1,V2 (\"\": no condition)")
		fs.String("appsflyer-id-property", "", "appsflyer-events: the user property holding the user's AppsFlyer id (default \"[AppsFlyer] appsflyer_id\")")
		fs.String("api-token", "", "appsflyer-cohort: the AppsFlyer API token V2.0")
		fs.String("platform", "", "appsflyer-cohort: the audience's platform, android or ios")
		fs.String("identifier", "", "appsflyer-cohort: the id members are sent by: gaid or idfa (by platform), user_id or cuid")
		fs.Bool("enabled", true, "send; --enabled=false keeps the destination but stops sending")
	}
	if verb == "create" {
		fs.String("kind", "", "appsflyer-events (the default: stream events) or appsflyer-cohort (cohort syncs)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *project == "" {
		return errors.New("--project is required")
	}
	base := "/api/v1/projects/" + esc(*project) + "/destinations"
	fields := map[string]string{"name": "name", "appsflyer-app-id": "appsflyer_app_id", "key": "key", "url": "url",
		"appsflyer-id-property": "appsflyer_id_property", "api-token": "api_token", "platform": "platform",
		"identifier": "identifier", "enabled": "enabled", "kind": "kind"}
	switch verb {
	case "create":
		if err := need(fs, 0, "no arguments: touchpoint destinations create --project 1 --name AF --appsflyer-app-id com.example.game --key DEV_KEY"); err != nil {
			return err
		}
		body := setFields(fs, fields)
		if given(fs, "event-types") || given(fs, "where") {
			f, err := eventFilter(touchpoint.EventFilter{}, fs, *eventTypes, *where)
			if err != nil {
				return err
			}
			body["filter"] = f
		}
		return c.show(ctx, "POST", base, body, stdout, printDestination)
	case "list":
		if err := need(fs, 0, "no arguments: touchpoint destinations list --project 1"); err != nil {
			return err
		}
		return c.show(ctx, "GET", base, nil, stdout, printDestinations)
	case "get", "update", "delete":
		if err := need(fs, 1, "the destination id: touchpoint destinations "+verb+" --project 1 3"); err != nil {
			return err
		}
		path := base + "/" + esc(fs.Arg(0))
		switch verb {
		case "get":
			return c.show(ctx, "GET", path, nil, stdout, printDestination)
		case "delete":
			// The server answers 204, no body: --json prints nothing.
			if _, err := c.send(ctx, "DELETE", path, nil); err != nil || c.JSON || c.Fields != "" {
				return err
			}
			_, err := fmt.Fprintf(stdout, "deleted destination %s of project %s\n", fs.Arg(0), *project)
			return err
		}
		body := setFields(fs, fields)
		if given(fs, "event-types") || given(fs, "where") {
			// The API replaces the whole filter: keep the part not given.
			cur, err := c.send(ctx, "GET", path, nil)
			if err != nil {
				return err
			}
			var d touchpoint.Destination
			if err := json.Unmarshal(cur, &d); err != nil {
				return fmt.Errorf("the server's answer is not a destination: %v", err)
			}
			f, err := eventFilter(d.Filter, fs, *eventTypes, *where)
			if err != nil {
				return err
			}
			body["filter"] = f
		}
		return c.show(ctx, "PATCH", path, body, stdout, printDestination)
	}
	return fmt.Errorf("destinations: unknown verb %q: want %s", verb, verbs)
}

// given says whether a flag was given on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// eventFilter is f with what --event-types and --where give in place of
// its own.
func eventFilter(f touchpoint.EventFilter, fs *flag.FlagSet, eventTypes, where string) (touchpoint.EventFilter, error) {
	if given(fs, "event-types") {
		f.EventTypes = nil
		for _, e := range strings.Split(eventTypes, ",") {
			if e = strings.TrimSpace(e); e != "" {
				f.EventTypes = append(f.EventTypes, e)
			}
		}
	}
	if given(fs, "where") {
		c, err := parseCondition(where)
		if err != nil {
			return f, fmt.Errorf("--where %q: %v", where, err)
		}
		f.Where = c
	}
	return f, nil
}

// parseCondition reads a --where: [event:|user:]PROPERTY is|is not
// V1,V2. Empty, it is no condition.
func parseCondition(s string) (*touchpoint.PropertyCondition, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	c := &touchpoint.PropertyCondition{On: touchpoint.OnEvent}
	if rest, ok := strings.CutPrefix(s, "user:"); ok {
		c.On, s = touchpoint.OnUser, rest
	} else if rest, ok := strings.CutPrefix(s, "event:"); ok {
		s = rest
	}
	prop, values, ok := strings.Cut(s, " is not ")
	c.Op = touchpoint.OpIsNot
	if !ok {
		prop, values, ok = strings.Cut(s, " is ")
		c.Op = touchpoint.OpIs
	}
	if !ok {
		return nil, errors.New(`want [event:|user:]PROPERTY is VALUE[,VALUE…] or … is not …, like 'user:[AppsFlyer] media source is organic'`)
	}
	c.Property = strings.TrimSpace(prop)
	for _, v := range strings.Split(values, ",") {
		if v = strings.TrimSpace(v); v != "" {
			c.Values = append(c.Values, v)
		}
	}
	return c, nil
}

// sends says what a destination sends: the events its filter lets
// through, or a cohort's members by which id.
func sends(d *touchpoint.Destination) string {
	if d.Kind == touchpoint.DestinationAppsFlyerCohort {
		return fmt.Sprintf("cohorts, %s devices by %s", d.Platform, d.Identifier)
	}
	s := "every event"
	if len(d.Filter.EventTypes) > 0 {
		s = strings.Join(d.Filter.EventTypes, ", ")
	}
	if w := d.Filter.Where; w != nil {
		s += fmt.Sprintf(" where %s:%s %s %s", w.On, w.Property, w.Op, strings.Join(w.Values, ", "))
	}
	return s
}

// lastFour shows a key as its last four characters: enough to tell keys
// apart, not to use one (--json prints the server's answer).
func lastFour(s string) string {
	if s == "" {
		return "-"
	}
	r := []rune(s)
	return "…" + string(r[max(0, len(r)-4):])
}

// printDestinations is "destinations list".
var printDestinations = renderAs("a list of destinations", func(t *table, v *struct {
	Destinations []*touchpoint.Destination `json:"destinations"`
}) {
	if len(v.Destinations) == 0 {
		t.Line("no destinations")
		return
	}
	t.Head("ID", "NAME", "KIND", "APPSFLYER APP", "ENABLED", "URL", "SENDS")
	for _, d := range v.Destinations {
		t.Row(strconv.FormatInt(d.ID, 10), d.Name, string(d.Kind), d.AppsFlyerAppID, yesNo(d.Enabled), thisServer(d.URL), sends(d))
	}
})

// thisServer is an integration's base URL; none is this server.
func thisServer(url string) string {
	if url == "" {
		return "(this server)"
	}
	return url
}

// printDestination is "destinations get", "create" and "update".
var printDestination = renderAs("a destination", func(t *table, d *touchpoint.Destination) {
	t.Field("destination", fmt.Sprintf("%d (%s)", d.ID, d.Kind))
	t.Field("project", strconv.FormatInt(d.Project, 10))
	t.Field("name", d.Name)
	t.Field("appsflyer app", d.AppsFlyerAppID)
	t.Field("url", thisServer(d.URL))
	t.Field("enabled", yesNo(d.Enabled))
	t.Field("sends", sends(d))
	if d.Kind == touchpoint.DestinationAppsFlyerCohort {
		t.Field("api token", lastFour(d.APIToken))
	} else {
		t.Field("dev key", lastFour(d.Key))
		t.Field("appsflyer id", "the user property "+d.AppsFlyerIDProperty)
	}
	t.Field("created", when(d.CreatedAt))
	t.Field("updated", when(d.UpdatedAt))
})
