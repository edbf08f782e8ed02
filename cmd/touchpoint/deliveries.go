package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// runDeliveries is "touchpoint deliveries": the outbox, every postback,
// analytics forward and streamed event owed or sent (admin API client).
func runDeliveries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const verbs = "list, get or retry"
	if len(args) == 0 {
		return errors.New("deliveries: want " + verbs)
	}
	verb, args := args[0], args[1:]
	argsUsage := "[flags] delivery_id"
	if verb == "list" {
		argsUsage = "[flags]"
	}
	fs := newFlagSet("deliveries "+verb, stderr, argsUsage)
	c := clientFlags(fs)
	switch verb {
	case "list":
		// Flag names, and the query parameters they set.
		filters := []struct{ flag, param, usage string }{
			{"app", "app_id", "only the deliveries of this app"},
			{"project", "project_id", "only the deliveries of this analytics project (event streams)"},
			{"pid", "pid", "only those of this partner, or integration: analytics-forward, destination/ID"},
			{"kind", "kind", "only this kind: " + kindList()},
			{"state", "state", "only those pending, succeeded or failed (given up)"},
			{"from", "from", "created at or after, RFC 3339"},
			{"to", "to", "created before, RFC 3339"},
			{"cursor", "cursor", "next_cursor of the previous page"},
			{"limit", "limit", "deliveries per page, 1 to 1000 (default 100)"},
		}
		for _, f := range filters {
			fs.String(f.flag, "", f.usage)
		}
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 0, "no arguments: touchpoint deliveries list --app com.example.game --state failed"); err != nil {
			return err
		}
		q := url.Values{}
		fs.Visit(func(fl *flag.Flag) {
			for _, f := range filters {
				if fl.Name == f.flag {
					q.Set(f.param, fl.Value.String())
				}
			}
		})
		path := "/api/v1/deliveries"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		return c.show(ctx, "GET", path, nil, stdout, printDeliveries)
	case "get", "retry":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the delivery id: touchpoint deliveries "+verb+" 12"); err != nil {
			return err
		}
		path := "/api/v1/deliveries/" + esc(fs.Arg(0))
		if verb == "retry" {
			return c.show(ctx, "POST", path+"/retry", nil, stdout, printDelivery)
		}
		return c.show(ctx, "GET", path, nil, stdout, printDelivery)
	}
	return fmt.Errorf("deliveries: unknown verb %q: want %s", verb, verbs)
}

func kindList() string {
	var kinds []string
	for _, k := range touchpoint.DeliveryKinds {
		kinds = append(kinds, string(k))
	}
	return strings.Join(kinds, ", ")
}

// owner says whom a delivery is owed for: the app, or the project.
func owner(d *touchpoint.Delivery) string {
	if d.App != "" {
		return d.App
	}
	if d.Project != 0 {
		return fmt.Sprintf("project %d", d.Project)
	}
	return "-"
}

// deliveryState says where a delivery stands, with what comes next.
func deliveryState(d *touchpoint.Delivery) string {
	switch d.State {
	case touchpoint.DeliveryPending:
		return fmt.Sprintf("pending, next try at %s", when(d.NextAt))
	case touchpoint.DeliveryFailed:
		if d.Reason != "" {
			return "failed: " + d.Reason
		}
	}
	return string(d.State)
}

// clip shortens text to n characters, "…" marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// printDeliveries is "deliveries list": a delivery a row, newest first.
var printDeliveries = renderAs("a page of deliveries", func(t *table, p *httpapi.DeliveryPage) {
	if len(p.Deliveries) == 0 {
		t.Line("no deliveries")
		return
	}
	t.Head("ID", "CREATED", "KIND", "FOR", "PID", "HOST", "TRIES", "STATE")
	for _, d := range p.Deliveries {
		t.Row(strconv.FormatInt(d.ID, 10), when(d.CreatedAt), string(d.Kind), owner(d), orDash(d.PID), d.Host,
			fmt.Sprintf("%d of %d", d.Tries, d.MaxTries), deliveryState(d))
	}
	more(t, p.NextCursor)
})

// printDelivery is "deliveries get" and "retry": the request, where it
// stands, and every attempt with the answer's first bytes.
var printDelivery = renderAs("a delivery", func(t *table, d *touchpoint.Delivery) {
	t.Field("delivery", fmt.Sprintf("%d (%s)", d.ID, d.Kind))
	t.Field("state", deliveryState(d))
	t.Field("for", owner(d))
	if d.PID != "" {
		t.Field("pid", d.PID)
	}
	t.Field("source", orDash(d.Source))
	t.Field("request", d.Method+" "+d.URL)
	if d.ContentType != "" {
		t.Field("content type", d.ContentType)
	}
	if d.Body != "" {
		t.Field("body", d.Body)
	}
	t.Field("tries", fmt.Sprintf("%d of %d", d.Tries, d.MaxTries))
	if d.Note != "" {
		t.Field("note", d.Note)
	}
	t.Field("created", when(d.CreatedAt))
	t.Field("updated", when(d.UpdatedAt))
	if len(d.Attempts) == 0 {
		t.Line("no attempts yet")
		return
	}
	t.Line("attempts")
	t.Indent("  ")
	t.Head("#", "TIME", "STATUS", "ANSWER")
	for _, a := range d.Attempts {
		status, answer := "-", a.Body
		if a.Status != 0 {
			status = strconv.Itoa(a.Status)
		}
		if a.Error != "" {
			answer = a.Error
		}
		t.Row(strconv.Itoa(a.N), when(a.Time), status, clip(strings.Join(strings.Fields(answer), " "), 100))
	}
})
