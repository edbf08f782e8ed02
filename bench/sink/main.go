// Command sink is the partner endpoint of the postback and stream
// benchmarks: it answers every request 200 ("ok") and counts them, in all
// and by distinct URL, so bench/postbacks.sh can check that every postback
// arrived exactly once. GET /_count answers "<requests> <distinct>". It
// listens on every address of -addr (comma-separated), so each partner of
// the benchmark can have a host of its own (127.0.0.2, 127.0.0.3, … are
// loopback too).
//
// For bench/stream.sh it also reads the eventTime of S2S in-app event
// bodies (yyyy-mm-dd hh:mm:ss.sss, UTC) and keeps how long after it each
// arrived: GET /_delays answers "<n> <p50_ms> <p95_ms> <max_ms>".
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	addrs := flag.String("addr", "127.0.0.1:8091", "addresses to listen on, comma-separated")
	flag.Parse()
	var mu sync.Mutex
	total := 0
	seen := map[string]bool{}
	var delays []time.Duration
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		var ev struct{ EventTime string }
		if r.Method == "POST" {
			body, _ := io.ReadAll(r.Body)
			json.Unmarshal(body, &ev)
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/_count":
			fmt.Fprintf(w, "%d %d\n", total, len(seen))
			return
		case "/_delays":
			d := slices.Clone(delays)
			slices.Sort(d)
			pct := func(p float64) int64 {
				if len(d) == 0 {
					return 0
				}
				return d[min(len(d)-1, int(p*float64(len(d))))].Milliseconds()
			}
			fmt.Fprintf(w, "%d %d %d %d\n", len(d), pct(0.5), pct(0.95), pct(1))
			return
		}
		total++
		seen[r.Host+r.URL.RequestURI()] = true
		if t, err := time.Parse("2006-01-02 15:04:05.000", ev.EventTime); err == nil {
			delays = append(delays, arrived.Sub(t))
		}
		fmt.Fprint(w, "ok")
	})
	list := strings.Split(*addrs, ",")
	for _, a := range list[1:] {
		go func() { log.Fatal(http.ListenAndServe(a, h)) }()
	}
	log.Fatal(http.ListenAndServe(list[0], h))
}
