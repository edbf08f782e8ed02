package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// runBenchUploads is "touchpoint bench uploads": the memory benchmark's
// load (bench/uploads.sh). CONNS clients each post REQUESTS uploads of
// about SIZE bytes (2,000 events, the most one may hold, padded with an
// event property) to /batch at the same time, and it prints a JSON
// summary: uploads answered by status, events acknowledged, and the time
// it took. With --bogus-key the uploads carry a key no project has.
func runBenchUploads(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench uploads", stderr, "[flags]")
	server := fs.String("server", "http://127.0.0.1:8080", "base URL of the server (loopback only)")
	apiKey := fs.String("api-key", "", "the project's API key")
	conns := fs.Int("conns", 32, "concurrent uploads")
	requests := fs.Int("requests", 2, "uploads per client")
	size := fs.Int("size", 19<<20, "bytes per upload (the /batch limit is 20 MB)")
	run := fs.String("run", "r1", "a tag that makes this run's insert ids its own")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *apiKey == "" {
		return errors.New("--api-key is required")
	}
	if err := loopbackOnly(*server); err != nil {
		return err
	}
	const events = 2000
	pad := strings.Repeat("x", max(*size/events-200, 0))
	body := func(client, req int) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"api_key":%q,"events":[`, *apiKey)
		for i := range events {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"event_type":"backfill","device_id":"device-%d-%d","insert_id":"%s-%d-%d-%d","event_properties":{"pad":%q}}`,
				client, i%50, *run, client, req, i, pad)
		}
		b.WriteString("]}")
		return b.Bytes()
	}
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *conns, DisableCompression: true}}
	var (
		mu       sync.Mutex
		statuses = map[string]int{}
		acked    int
		wg       sync.WaitGroup
	)
	start := time.Now()
	for c := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range *requests {
				req, err := http.NewRequestWithContext(ctx, "POST", *server+"/batch", bytes.NewReader(body(c, r)))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				status := "error"
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = fmt.Sprint(resp.StatusCode)
				}
				mu.Lock()
				statuses[status]++
				if status == "200" {
					acked += events
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return printJSON(stdout, map[string]any{"uploads": statuses, "events_acknowledged": acked,
		"seconds": time.Since(start).Seconds(), "bytes_per_upload": len(body(0, 0))})
}
