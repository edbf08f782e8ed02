package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Client talks to the admin API of a running server.
type Client struct {
	Server string
	Token  string
	// DataDir is where a local server keeps its admin-token file, read
	// when no token is given ("data" when empty).
	DataDir string
	HTTP    *http.Client
	// Fields, when set, are the answer's fields to print instead of the
	// whole answer (--field).
	Fields string
	// JSON prints the server's answer as it is where a command would
	// print a table (--json).
	JSON bool
}

// clientFlags adds --server, --admin-token, --data-dir, --field and
// --json to fs.
func clientFlags(fs *flag.FlagSet) *Client {
	c := &Client{HTTP: &http.Client{Timeout: time.Minute}}
	fs.StringVar(&c.Server, "server", "http://127.0.0.1:8080", "base URL of the Touchpoint server")
	fs.StringVar(&c.Token, "admin-token", "", "admin token (default: read from the data dir's admin-token file)")
	fs.StringVar(&c.DataDir, "data-dir", "", "data dir of a local server, to read its admin-token file (default \"data\")")
	fs.StringVar(&c.Fields, "field", "", "print only this field of the answer (a.b for a nested one; several, comma-separated, print on one line separated by spaces), e.g. --field dev_key")
	fs.BoolVar(&c.JSON, "json", false, "print the server's answer, JSON, as it is (where the command prints a table)")
	return c
}

// tokenPath is the admin-token file the client reads when no token is
// given, absolute when it can be (an error names it).
func (c *Client) tokenPath() string {
	path := filepath.Join(cmp.Or(c.DataDir, "data"), tokenFile)
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// token returns the admin token: --admin-token, else the data dir's
// token file. A missing file is no error here: the server's 401 is the
// moment to say where the CLI looked (an unreachable server comes first).
func (c *Client) token() (string, error) {
	if c.Token != "" {
		return c.Token, nil
	}
	b, err := os.ReadFile(c.tokenPath())
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the admin token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// do sends a request and writes the JSON answer to out (only the --field
// fields, when given). A non-2xx answer is an error carrying the server's
// message.
func (c *Client) do(ctx context.Context, method, path string, body any, out io.Writer) error {
	b, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	return c.print(b, out)
}

// show sends a request and prints its answer for a person: render's
// table. With --json it prints the server's answer as it is, with
// --field the fields named, as do does.
func (c *Client) show(ctx context.Context, method, path string, body any, out io.Writer, render func([]byte, io.Writer) error) error {
	b, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	if c.JSON || c.Fields != "" {
		return c.print(b, out)
	}
	return render(b, out)
}

// print writes an answer as do does.
func (c *Client) print(answer []byte, out io.Writer) error {
	if c.Fields != "" {
		return printFields(answer, c.Fields, out)
	}
	if len(answer) > 0 {
		_, err := out.Write(answer)
		return err
	}
	return nil
}

// send sends a request and returns the answer's body. A non-2xx answer is
// an error carrying the server's message; an unreachable server and a
// missing admin token are errors that say how to fix them.
func (c *Client) send(ctx context.Context, method, path string, body any) ([]byte, error) {
	resp, err := c.open(ctx, c.HTTP, method, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// open sends a request with client and returns the answer, its body still
// to read, when it is a 2xx; otherwise the error send describes.
func (c *Client) open(ctx context.Context, client *http.Client, method, path string, body any) (*http.Response, error) {
	token, err := c.token()
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	server := strings.TrimRight(c.Server, "/")
	req, err := http.NewRequestWithContext(ctx, method, server+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" && ctx.Err() == nil {
			return nil, fmt.Errorf("cannot reach the Touchpoint server at %s (%s %s: %v): is \"touchpoint serve\" running there? "+
				"Start it, or point the CLI at the server with --server or TOUCHPOINT_SERVER", server, method, path, op.Err)
		}
		return nil, err
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && token == "" {
		return nil, fmt.Errorf("%s %s: no admin token to send: found none in %s; "+
			"give the server's data dir with --data-dir (TOUCHPOINT_DATA_DIR), or the token with --admin-token or TOUCHPOINT_ADMIN_TOKEN",
			method, path, c.tokenPath())
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return nil, fmt.Errorf("%s %s: %s (%s)", method, path, e.Error, resp.Status)
	}
	return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
}

// printFields writes the named fields of a JSON answer on one line,
// separated by spaces: strings as they are, anything else as JSON. A name
// with dots reaches into nested objects.
func printFields(answer []byte, names string, out io.Writer) error {
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return fmt.Errorf("--field: the answer is not JSON: %v", err)
	}
	var vals []string
	for _, name := range strings.Split(names, ",") {
		v := root
		for _, part := range strings.Split(strings.TrimSpace(name), ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("--field %s: the answer has no such field", name)
			}
			if v, ok = m[part]; !ok {
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				return fmt.Errorf("--field %s: the answer has no field %q (it has %s)", name, part, strings.Join(keys, ", "))
			}
		}
		switch v := v.(type) {
		case string:
			vals = append(vals, v)
		default:
			b, _ := marshalJSON(v)
			vals = append(vals, string(b))
		}
	}
	_, err := fmt.Fprintln(out, strings.Join(vals, " "))
	return err
}

// marshalJSON is json.Marshal without HTML escaping: what the CLI prints
// is read by people and scripts, never put in a page, so & < > stay as
// they are (the server's answers, printed as they come, are the same).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := printJSON(&buf, v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// printJSON writes v to w as one line of JSON, not HTML-escaped.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func esc(s string) string { return url.PathEscape(s) }

// setFields returns the flags that were given on the command line (a
// command's own flags do not read the environment), as a JSON object of their values (for updates: only what
// was set is sent).
func setFields(fs *flag.FlagSet, names map[string]string) map[string]any {
	out := map[string]any{}
	fs.Visit(func(f *flag.Flag) {
		if key, ok := names[f.Name]; ok {
			if g, ok := f.Value.(flag.Getter); ok {
				out[key] = g.Get()
			} else {
				out[key] = f.Value.String()
			}
		}
	})
	return out
}

// postbackFlags returns the postback templates --install-postback and
// --event-postback give, or nil when neither was given.
func postbackFlags(fs *flag.FlagSet) []map[string]any {
	var out []map[string]any
	for flagName, kind := range map[string]string{"install-postback": "install_postback", "event-postback": "event_postback"} {
		if f := fs.Lookup(flagName); f != nil && f.Value.String() != "" {
			out = append(out, map[string]any{"kind": kind, "url": f.Value.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["kind"].(string) < out[j]["kind"].(string) })
	return out
}

// need checks that a command got exactly n positional arguments.
func need(fs *flag.FlagSet, n int, what string) error {
	if fs.NArg() != n {
		fs.Usage()
		return fmt.Errorf("want %s", what)
	}
	return nil
}

// shownOnce is what the CLI says on stderr when an answer carries keys.
const shownOnce = "The new key is shown only in this answer: keep it now. The server keeps its hash; later answers show only its last four characters.\n"

// doShowingKeys is do for an answer that carries a new key: it says on
// stderr that the key is shown this once.
func (c *Client) doShowingKeys(ctx context.Context, method, path string, body any, stdout, stderr io.Writer) error {
	if err := c.do(ctx, method, path, body, stdout); err != nil {
		return err
	}
	_, err := io.WriteString(stderr, shownOnce)
	return err
}

func runApps(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("apps: want create, list, get, update, rotate-key, forward or clock")
	}
	verb, args := args[0], args[1:]
	if verb == "forward" {
		return runForward(ctx, args, stdout, stderr)
	}
	fs := newFlagSet("apps "+verb, stderr, "[flags] [app_id]")
	c := clientFlags(fs)
	windows := map[string]string{
		"click-lookback": "click_lookback", "view-through-lookback": "view_through_lookback",
		"probabilistic-window": "probabilistic_window", "reattribution-window": "reattribution_window",
		"reengagement-window": "reengagement_window",
	}
	if verb == "create" || verb == "update" {
		for name := range windows {
			fs.String(name, "", "window, like 7d or 24h")
		}
	}
	switch verb {
	case "create":
		fs.String("platform", "", "android or ios")
		fs.String("name", "", "app name")
		fs.String("store-url", "", "store page (default: the platform's page of the app id)")
		fs.Int("min-ctit", 10, "click-to-install floor in seconds (0: off)")
		fs.Bool("test-mode", false, "give the app a test clock that stands still until moved (apps clock)")
		fs.String("time-zone", "UTC", "the IANA time zone the report counts days in, like America/New_York")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the app id: touchpoint apps create --platform android --name Game com.example.game"); err != nil {
			return err
		}
		body := setFields(fs, map[string]string{"platform": "platform", "name": "name", "store-url": "store_url",
			"min-ctit": "min_ctit_seconds", "test-mode": "test_mode", "time-zone": "time_zone"})
		body["app_id"] = fs.Arg(0)
		body["windows"] = setFields(fs, windows)
		return c.doShowingKeys(ctx, "POST", "/api/v1/apps", body, stdout, stderr)
	case "list":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return c.do(ctx, "GET", "/api/v1/apps", nil, stdout)
	case "get":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the app id"); err != nil {
			return err
		}
		return c.do(ctx, "GET", "/api/v1/apps/"+esc(fs.Arg(0)), nil, stdout)
	case "rotate-key":
		key := fs.String("key", "", "the key to replace: dev_key or api_token (the old one stops working at once)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the app id: touchpoint apps rotate-key --key dev_key com.example.game"); err != nil {
			return err
		}
		return c.doShowingKeys(ctx, "POST", "/api/v1/apps/"+esc(fs.Arg(0))+"/keys/rotate", map[string]string{"key": *key}, stdout, stderr)
	case "clock":
		fs.String("advance", "", "move the test clock forward: 8d, 36h, 90m, 30s")
		fs.String("time", "", "set the test clock to a later RFC 3339 time")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the app id: touchpoint apps clock --advance 8d com.example.game"); err != nil {
			return err
		}
		return c.do(ctx, "POST", "/api/v1/apps/"+esc(fs.Arg(0))+"/test_clock", setFields(fs, map[string]string{"advance": "advance", "time": "time"}), stdout)
	case "update":
		fs.String("name", "", "app name")
		fs.String("store-url", "", "store page")
		fs.Int("min-ctit", 10, "click-to-install floor in seconds (0: off)")
		fs.String("time-zone", "UTC", "the IANA time zone the report counts days in from now on")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the app id"); err != nil {
			return err
		}
		body := setFields(fs, map[string]string{"name": "name", "store-url": "store_url", "min-ctit": "min_ctit_seconds",
			"time-zone": "time_zone"})
		body["windows"] = setFields(fs, windows)
		return c.do(ctx, "PATCH", "/api/v1/apps/"+esc(fs.Arg(0)), body, stdout)
	}
	return fmt.Errorf("apps: unknown verb %q: want create, list, get, update, rotate-key, forward or clock", verb)
}

// runForward is "touchpoint apps forward [get|set|delete]": an app's
// forward of its installs (and in-app events) to an analytics project.
// Without get, set or delete it sets, as it always has.
func runForward(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verb := "set"
	if len(args) > 0 && slices.Contains([]string{"get", "set", "delete"}, args[0]) {
		verb, args = args[0], args[1:]
	}
	fs := newFlagSet("apps forward "+verb, stderr, "[flags] app_id")
	c := clientFlags(fs)
	var off *bool
	if verb == "set" {
		fs.String("api-key", "", "the analytics project's API key (Amplitude's, or a project of this server)")
		fs.String("url", "", "the analytics server's base URL (default: this server)")
		fs.String("mode", "", "attribution-api (installs, matched on advertising ids; the default) or http-v2 (installs and in-app events)")
		fs.String("style", "", "appsflyer ([AppsFlyer] media source, …; the default) or adjust ([adjust] network, …)")
		fs.String("company", "", "the name in the properties' brackets")
		off = fs.Bool("disable", false, "keep the forward but stop sending")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := need(fs, 1, "the app id: touchpoint apps forward "+verb+" com.example.game"); err != nil {
		return err
	}
	path := "/api/v1/apps/" + esc(fs.Arg(0)) + "/analytics-forward"
	switch verb {
	case "get":
		return c.do(ctx, "GET", path, nil, stdout)
	case "delete":
		// The server answers 204, no body: --json prints nothing.
		if _, err := c.send(ctx, "DELETE", path, nil); err != nil || c.JSON || c.Fields != "" {
			return err
		}
		_, err := fmt.Fprintf(stdout, "deleted the analytics forward of %s\n", fs.Arg(0))
		return err
	}
	// PUT replaces the forward: what is not given takes its default.
	body := setFields(fs, map[string]string{"api-key": "api_key", "url": "url", "mode": "mode", "style": "style", "company": "company"})
	body["enabled"] = !*off
	return c.do(ctx, "PUT", path, body, stdout)
}

func runPartners(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("partners: want create, list, get, update, delete, secrets or report")
	}
	verb, args := args[0], args[1:]
	if verb == "secrets" {
		return runSecrets(ctx, args, stdout, stderr)
	}
	fs := newFlagSet("partners "+verb, stderr, "[flags] app_id [pid]")
	c := clientFlags(fs)
	fields := map[string]string{
		"click-signing": "click_signing", "click-lookback": "click_lookback",
		"view-through-lookback": "view_through_lookback", "probabilistic-window": "probabilistic_window",
		"allow-ip-ua": "allow_ip_ua", "restricted": "restricted", "daily-click-cap": "daily_click_cap",
	}
	if verb == "create" || verb == "update" {
		fs.String("click-signing", "", "disabled, report-only or enabled")
		fs.String("click-lookback", "", "click lookback window, 1d to 30d")
		fs.String("view-through-lookback", "", "view-through lookback window, 1h to 7d")
		fs.String("probabilistic-window", "", "probabilistic matching window, 1h to 24h")
		fs.Bool("allow-ip-ua", false, "the partner may send af_ip, af_ua and af_lang")
		fs.Bool("restricted", false, "a self-reporting network (no postbacks; organic in analytics)")
		fs.Int64("daily-click-cap", 0, "most attributable clicks per UTC day (0: no cap)")
		fs.String("install-postback", "", "install postback URL, with (macro)s: sent by GET for every install the partner wins")
		fs.String("event-postback", "", "in-app event postback URL, with (macro)s: sent by GET for every in-app event of the partner's installs")
	}
	var from, to *string
	if verb == "report" {
		from = fs.String("from", "", "report start, RFC 3339 (default: 24 hours ago)")
		to = fs.String("to", "", "report end, RFC 3339 (default: now)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base := "/api/v1/apps/" + esc(fs.Arg(0)) + "/partners"
	switch verb {
	case "create":
		if err := need(fs, 2, "app_id and pid"); err != nil {
			return err
		}
		body := setFields(fs, fields)
		body["pid"] = fs.Arg(1)
		if p := postbackFlags(fs); p != nil {
			body["postbacks"] = p
		}
		return c.do(ctx, "POST", base, body, stdout)
	case "list":
		if err := need(fs, 1, "app_id"); err != nil {
			return err
		}
		return c.do(ctx, "GET", base, nil, stdout)
	case "get", "delete", "update", "report":
		if err := need(fs, 2, "app_id and pid"); err != nil {
			return err
		}
		path := base + "/" + esc(fs.Arg(1))
		switch verb {
		case "get":
			return c.do(ctx, "GET", path, nil, stdout)
		case "delete":
			return c.do(ctx, "DELETE", path, nil, stdout)
		case "update":
			body := setFields(fs, fields)
			if p := postbackFlags(fs); p != nil {
				body["postbacks"] = p // replaces the partner's postbacks
			}
			return c.do(ctx, "PATCH", path, body, stdout)
		}
		q := url.Values{}
		if *from != "" {
			q.Set("from", *from)
		}
		if *to != "" {
			q.Set("to", *to)
		}
		return c.do(ctx, "GET", path+"/signing-report?"+q.Encode(), nil, stdout)
	}
	return fmt.Errorf("partners: unknown verb %q", verb)
}

func runSecrets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("partners secrets: want create, list or revoke")
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("partners secrets "+verb, stderr, "[flags] app_id pid [secret_id]")
	c := clientFlags(fs)
	ttl := fs.Int("ttl-hours", 36, "lifetime of a new secret, 1 to 1440 hours")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base := "/api/v1/apps/" + esc(fs.Arg(0)) + "/partners/" + esc(fs.Arg(1)) + "/secrets"
	switch verb {
	case "create":
		if err := need(fs, 2, "app_id and pid"); err != nil {
			return err
		}
		return c.do(ctx, "POST", fmt.Sprintf("%s?ttl-hours=%d", base, *ttl), nil, stdout)
	case "list":
		if err := need(fs, 2, "app_id and pid"); err != nil {
			return err
		}
		return c.do(ctx, "GET", base, nil, stdout)
	case "revoke":
		if err := need(fs, 3, "app_id, pid and secret_id"); err != nil {
			return err
		}
		return c.do(ctx, "DELETE", base+"/"+esc(fs.Arg(2)), nil, stdout)
	}
	return fmt.Errorf("partners secrets: unknown verb %q", verb)
}

func runTouches(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("touches: want list, get or count")
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("touches "+verb, stderr, "[flags] app_id [touch_id]")
	c := clientFlags(fs)
	filters := []string{"pid", "kind", "from", "to", "device-id", "click-id", "cursor", "limit"}
	usages := map[string]string{"pid": "only the touches of this media source", "kind": "only clicks (click) or impressions (impression)",
		"from": "at or after, RFC 3339", "to": "before, RFC 3339", "device-id": "only the touches of this device id (raw, sha1 or md5)",
		"click-id": "only the touches of this click id (clickid)", "cursor": "next_cursor of the previous page",
		"limit": "touches per page, 1 to 1000 (default 50)"}
	if verb != "get" {
		for _, f := range filters {
			fs.String(f, "", usages[f])
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	fs.Visit(func(f *flag.Flag) {
		for _, name := range filters {
			if f.Name == name {
				q.Set(strings.ReplaceAll(name, "-", "_"), f.Value.String())
			}
		}
	})
	base := "/api/v1/apps/" + esc(fs.Arg(0)) + "/touches"
	switch verb {
	case "list", "count":
		if err := need(fs, 1, "app_id"); err != nil {
			return err
		}
		if verb == "count" {
			return c.do(ctx, "GET", base+"/count?"+q.Encode(), nil, stdout)
		}
		return c.show(ctx, "GET", base+"?"+q.Encode(), nil, stdout, printTouches)
	case "get":
		if err := need(fs, 2, "app_id and touch_id"); err != nil {
			return err
		}
		return c.show(ctx, "GET", base+"/"+esc(fs.Arg(1)), nil, stdout, printTouch)
	}
	return fmt.Errorf("touches: unknown verb %q", verb)
}

func runInstalls(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "get" {
		return errors.New("installs: want get")
	}
	fs := newFlagSet("installs get", stderr, "[flags] app_id device_id")
	c := clientFlags(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := need(fs, 2, "app_id and device_id"); err != nil {
		return err
	}
	return c.show(ctx, "GET", "/api/v1/apps/"+esc(fs.Arg(0))+"/installs/"+esc(fs.Arg(1)), nil, stdout, printInstall)
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr, "[flags] app_id")
	c := clientFlags(fs)
	today := time.Now().UTC().Format(time.DateOnly)
	from := fs.String("from", time.Now().UTC().AddDate(0, 0, -6).Format(time.DateOnly), "first day, YYYY-MM-DD")
	to := fs.String("to", today, "last day, YYYY-MM-DD (included)")
	groupBy := fs.String("group-by", "media_source", "comma-separated: "+strings.Join(touchpoint.ReportDimensions, ", "))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := need(fs, 1, "app_id"); err != nil {
		return err
	}
	q := url.Values{"from": {*from}, "to": {*to}, "group_by": {*groupBy}}
	return c.show(ctx, "GET", "/api/v1/apps/"+esc(fs.Arg(0))+"/report?"+q.Encode(), nil, stdout, printReport)
}
