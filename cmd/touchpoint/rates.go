package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// runRates is "touchpoint rates": a UTC day's exchange rates to US
// dollars, which in-app postbacks convert revenue with (admin API client).
func runRates(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const verbs = "get or set"
	if len(args) == 0 {
		return errors.New("rates: want " + verbs)
	}
	verb, args := args[0], args[1:]
	switch verb {
	case "get":
		fs := newFlagSet("rates get", stderr, "[flags] YYYY-MM-DD")
		c := clientFlags(fs)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if err := need(fs, 1, "the day: touchpoint rates get 2026-11-09"); err != nil {
			return err
		}
		return c.show(ctx, "GET", "/api/v1/exchange-rates/"+esc(fs.Arg(0)), nil, stdout, printRates)
	case "set":
		fs := newFlagSet("rates set", stderr, "[flags] YYYY-MM-DD CURRENCY=RATE ...")
		c := clientFlags(fs)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() < 2 {
			fs.Usage()
			return errors.New("want the day and its rates, US dollars per unit: touchpoint rates set 2026-11-09 EUR=1.08 GBP=1.27")
		}
		rates := map[string]float64{}
		for _, kv := range fs.Args()[1:] {
			cur, v, ok := strings.Cut(kv, "=")
			rate, err := strconv.ParseFloat(v, 64)
			if !ok || cur == "" || err != nil {
				return fmt.Errorf("%q: want CURRENCY=RATE, US dollars per unit, like EUR=1.08", kv)
			}
			if _, dup := rates[cur]; dup {
				return fmt.Errorf("%s is given twice", cur)
			}
			rates[cur] = rate
		}
		// The day's table is replaced: what is not given is gone.
		body := map[string]any{"rates": rates}
		return c.show(ctx, "PUT", "/api/v1/exchange-rates/"+esc(fs.Arg(0)), body, stdout, printRates)
	}
	return fmt.Errorf("rates: unknown verb %q: want %s", verb, verbs)
}

// printRates is "rates get" and "set": a currency a row.
var printRates = renderAs("a day's exchange rates", func(t *table, r *touchpoint.ExchangeRates) {
	day := r.Day.UTC().Format(time.DateOnly)
	if len(r.Rates) == 0 {
		t.Line("no exchange rates on %s", day)
		return
	}
	t.Line("exchange rates of %s (UTC), US dollars per unit", day)
	t.Head("CURRENCY", "USD")
	for _, cur := range slices.Sorted(maps.Keys(r.Rates)) {
		t.Row(cur, strconv.FormatFloat(r.Rates[cur], 'f', -1, 64))
	}
})
