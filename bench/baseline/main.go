// Command baseline is the yardstick of the click and event benchmarks: a
// bare net/http server whose only work is to answer every GET with a 302
// redirect to a store URL, and every POST by reading the body and answering
// Amplitude's 200. bench/clicks.sh and bench/events.sh run the same load
// against it and against touchpoint serve, and report touchpoint's
// throughput as a ratio of this.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	flag.Parse()
	const store = "https://play.google.com/store/apps/details?id=com.example.game"
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n, _ := io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"code":200,"server_upload_time":%d,"payload_size_bytes":%d,"events_ingested":0}`, time.Now().UnixMilli(), n)
			return
		}
		http.Redirect(w, r, store, http.StatusFound)
	})))
}
