package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

func runLinks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("links: want build, sign or test")
	}
	verb, args := args[0], args[1:]
	switch verb {
	case "build":
		fs := newFlagSet("links build", stderr, "[flags] app_id pid [key=value ...]")
		base := fs.String("base", "", "public base URL of the server (default: $TOUCHPOINT_SERVER, else http://127.0.0.1:8080)")
		impression := fs.Bool("impression", false, "an impression link (/v/) instead of a click link (/c/)")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() < 2 {
			fs.Usage()
			return errors.New("want app_id and pid")
		}
		if *base == "" {
			*base = cmp.Or(os.Getenv("TOUCHPOINT_SERVER"), "http://127.0.0.1:8080")
		}
		var params []touchpoint.Param
		for _, kv := range fs.Args()[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("parameter %q: want key=value", kv)
			}
			params = append(params, touchpoint.Param{Key: k, Value: v})
		}
		kind := touchpoint.Click
		if *impression {
			kind = touchpoint.Impression
		}
		fmt.Fprintln(stdout, link.Build(*base, kind, fs.Arg(0), fs.Arg(1), params))
		return nil
	case "sign":
		fs := newFlagSet("links sign", stderr, "[flags] url")
		secret := fs.String("secret", "", "the partner's signing secret")
		expiresIn := fs.Duration("expires-in", time.Hour, "how long the signed link is valid")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the URL to sign"); err != nil {
			return err
		}
		if *secret == "" {
			return errors.New("--secret is required (create one with: touchpoint partners secrets create app_id pid)")
		}
		signed, err := link.SignURL(fs.Arg(0), *secret, time.Now().Add(*expiresIn))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, signed)
		return nil
	case "test":
		fs := newFlagSet("links test", stderr, "[flags] url")
		c := clientFlags(fs)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the URL to test"); err != nil {
			return err
		}
		answer, err := c.send(ctx, "POST", "/api/v1/links/test", map[string]string{"url": fs.Arg(0)})
		if err != nil {
			return err
		}
		if err := c.print(answer, stdout); err != nil {
			return err
		}
		// A check that fails exits non-zero, so scripts and CI can rely on
		// the exit status; the answer above still says why.
		var res struct{ Result, Reason string }
		if err := json.Unmarshal(answer, &res); err != nil {
			return fmt.Errorf("links test: the answer is not JSON: %v", err)
		}
		if res.Result != "passed" {
			return fmt.Errorf("links test: the link did not verify (%s)", cmp.Or(res.Reason, res.Result))
		}
		return nil
	}
	return fmt.Errorf("links: unknown verb %q: want build, sign or test", verb)
}
