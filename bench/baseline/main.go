// Command baseline is the yardstick of the click benchmark: a bare net/http
// server whose only work is to answer every request with a 302 redirect to
// a store URL. bench/clicks.sh runs the same wrk load against it and against
// touchpoint serve, and reports touchpoint's throughput as a ratio of this.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	flag.Parse()
	const store = "https://play.google.com/store/apps/details?id=com.example.game"
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, store, http.StatusFound)
	})))
}
