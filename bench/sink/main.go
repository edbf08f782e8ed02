// Command sink is the partner endpoint of the postback benchmark: it
// answers every request 200 and counts them, in all and by distinct URL,
// so bench/postbacks.sh can check that every postback arrived exactly
// once. GET /_count answers "<requests> <distinct>". It listens on every
// address of -addr (comma-separated), so each partner of the benchmark can
// have a host of its own (127.0.0.2, 127.0.0.3, … are loopback too).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"strings"
	"sync"
)

func main() {
	addrs := flag.String("addr", "127.0.0.1:8091", "addresses to listen on, comma-separated")
	flag.Parse()
	var mu sync.Mutex
	total := 0
	seen := map[string]bool{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/_count" {
			fmt.Fprintf(w, "%d %d\n", total, len(seen))
			return
		}
		total++
		seen[r.Host+r.URL.RequestURI()] = true
		fmt.Fprint(w, "ok")
	})
	list := strings.Split(*addrs, ",")
	for _, a := range list[1:] {
		go func() { log.Fatal(http.ListenAndServe(a, h)) }()
	}
	log.Fatal(http.ListenAndServe(list[0], h))
}
