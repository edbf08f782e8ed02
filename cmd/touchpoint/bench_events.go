package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BenchEventTypes are the event types touchpoint bench events sends.
var BenchEventTypes = []string{"session_start", "screen_view", "level_start", "level_complete", "purchase",
	"ad_impression", "button_click", "tutorial_step", "item_equipped", "session_end"}

// runBenchEvents is "touchpoint bench events": a load generator for the
// analytics ingestion benchmark (bench/events.sh). CONNS connections post
// batches of realistic events (about 500 bytes, 9 event properties, as an
// Android app's SDK sends them) to /2/httpapi for the duration, and it
// prints a JSON summary: requests and events acknowledged, events per
// second, latency percentiles, and refusals by status. Every event has an
// insert_id of its own (from --offset), so all of them must be stored.
func runBenchEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench events", stderr, "[flags]")
	server := fs.String("server", "http://127.0.0.1:8080", "base URL of the server (loopback only)")
	path := fs.String("path", "/2/httpapi", "endpoint")
	apiKey := fs.String("api-key", "", "the project's API key")
	conns := fs.Int("conns", 16, "concurrent connections")
	batchSize := fs.Int("batch", 100, "events per request")
	devices := fs.Int("devices", 100_000, "distinct devices (60% of them logged in)")
	duration := fs.Duration("duration", 20*time.Second, "how long to send")
	offset := fs.Int64("offset", 0, "first insert id number (rounds use different ones)")
	rate := fs.Int("rate", 0, "events per second to offer, in all (0: as fast as the server answers)")
	setIDs := fs.Bool("set-appsflyer-ids", false, "instead: give every device's user an AppsFlyer id ([AppsFlyer] appsflyer_id, as the install forward does), which event streams to AppsFlyer need, and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *apiKey == "" {
		return errors.New("--api-key is required")
	}
	if err := loopbackOnly(*server); err != nil {
		return err
	}
	if *setIDs {
		return setAppsFlyerIDs(ctx, *server, *apiKey, *devices, stdout)
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *conns, DisableCompression: true}}
	target := *server + *path
	deadline := time.Now().Add(*duration)
	var (
		mu           sync.Mutex
		latencies    []time.Duration
		events       int
		refused      = map[string]int{}
		firstRefusal string
		next         = *offset
		wg           sync.WaitGroup
	)
	start := time.Now()
	for c := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(*offset)))
			// Bodies are rendered once, then sent again and again with new
			// insert ids written over the old ones: the generator's own
			// CPU stays small beside the server's.
			const templates = 32
			var bodies [][]byte
			var marks, timeMarks [][]int
			for range templates {
				b, m, tm := benchBatch(rng, *apiKey, *batchSize, *devices)
				bodies, marks, timeMarks = append(bodies, b), append(marks, m), append(timeMarks, tm)
			}
			var body bytes.Buffer
			var lats []time.Duration
			n := 0
			for k := 0; time.Now().Before(deadline) && ctx.Err() == nil; k++ {
				mu.Lock()
				first := next
				next += int64(*batchSize)
				mu.Unlock()
				if *rate > 0 {
					// The batch's turn in an even schedule: a server
					// that keeps up sees the rate, one that does not
					// falls behind it.
					due := start.Add(time.Duration(float64(first-*offset) / float64(*rate) * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
					if !time.Now().Before(deadline) {
						break
					}
				}
				b := bodies[k%templates]
				for j, at := range marks[k%templates] {
					writeDigits(b[at:at+insertIDDigits], first+int64(j))
				}
				// Events happen as they are sent (stream delays are
				// measured from their time).
				sent := time.Now().UnixMilli()
				for _, at := range timeMarks[k%templates] {
					writeDigits(b[at:at+timeDigits], sent)
				}
				body.Reset()
				body.Write(b)
				t0 := time.Now()
				resp, err := client.Post(target, "application/json", &body)
				if err != nil {
					mu.Lock()
					refused["error"]++
					mu.Unlock()
					continue
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lats = append(lats, time.Since(t0))
				if resp.StatusCode == 200 {
					n += *batchSize
				} else {
					mu.Lock()
					refused[strconv.Itoa(resp.StatusCode)]++
					if firstRefusal == "" {
						firstRefusal = string(answer)
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			latencies = append(latencies, lats...)
			events += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]) / 1e6
	}
	return printJSON(stdout, map[string]any{
		"requests": len(latencies), "events": events, "seconds": secs, "events_per_sec": float64(events) / secs,
		"p50_ms": pct(0.50), "p99_ms": pct(0.99), "refused": refused, "first_refusal": firstRefusal, "next_offset": next,
	})
}

// insertIDDigits is the width of the number in a bench event's insert id;
// timeDigits of its time (ms, until 2286).
const (
	insertIDDigits = 14
	timeDigits     = 13
)

// writeDigits writes n in decimal into b, zero-padded.
func writeDigits(b []byte, n int64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
}

// benchBatch renders one upload of n events and returns where each event's
// insert id number and time are.
func benchBatch(rng *rand.Rand, apiKey string, n, devices int) ([]byte, []int, []int) {
	b := make([]byte, 0, n*560+64)
	var marks, timeMarks []int
	b = append(b, `{"api_key":"`...)
	b = append(b, apiKey...)
	b = append(b, `","events":[`...)
	now := time.Now().UnixMilli()
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		d := rng.IntN(devices)
		typ := BenchEventTypes[rng.IntN(len(BenchEventTypes))]
		b = append(b, '{')
		b = benchDevice(b, d)
		b = fmt.Appendf(b, `,"event_type":"%s","time":`, typ)
		timeMarks = append(timeMarks, len(b))
		b = fmt.Appendf(b, `%013d,"insert_id":"bench-`, now)
		marks = append(marks, len(b))
		b = append(b, strings.Repeat("0", insertIDDigits)...)
		b = fmt.Appendf(b, `","session_id":%d,"event_id":%d,"platform":"Android","os_name":"android","os_version":"14",`, now-int64(d%3600)*1000, rng.IntN(1_000_000))
		b = append(b, `"device_brand":"Google","device_model":"Pixel 8","app_version":"3.2.1","country":"US","language":"en-US",`...)
		b = fmt.Appendf(b, `"ip":"203.0.%d.%d","adid":"%08x-8cf0-11bd-b23e-%012x","library":"amplitude-kotlin/1.16.0",`, d%250, d%200, d, d)
		b = fmt.Appendf(b, `"event_properties":{"level":%d,"score":%d,"duration_ms":%d,"difficulty":"hard","character":"mage",`,
			rng.IntN(100), rng.IntN(100_000), rng.IntN(600_000))
		b = fmt.Appendf(b, `"coins_earned":%d,"boosters_used":["shield","x2"],"first_try":%t,"mode":"campaign"}`, rng.IntN(1000), rng.IntN(2) == 0)
		if rng.IntN(50) == 0 {
			b = fmt.Appendf(b, `,"user_properties":{"$set":{"level":%d,"vip":%t}}`, rng.IntN(100), rng.IntN(10) == 0)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), marks, timeMarks
}

// benchDevice writes the ids of bench device d: its user id (60% of
// devices are logged in) and device id, as JSON members.
func benchDevice(b []byte, d int) []byte {
	if d%5 < 3 {
		b = fmt.Appendf(b, `"user_id":"user-%07d",`, d)
	}
	return fmt.Appendf(b, `"device_id":"%08x-1f2e-4d3c-8b7a-%012x"`, d, d*7919)
}

// setAppsFlyerIDs sends an identify for every bench device that sets its
// user's AppsFlyer id, in uploads of 1,000.
func setAppsFlyerIDs(ctx context.Context, server, apiKey string, devices int, stdout io.Writer) error {
	client := &http.Client{Timeout: time.Minute}
	for first := 0; first < devices; first += 1000 {
		b := fmt.Appendf(nil, `{"api_key":%q,"events":[`, apiKey)
		for d := first; d < min(first+1000, devices); d++ {
			if d > first {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = benchDevice(b, d)
			b = fmt.Appendf(b, `,"event_type":"$identify","user_properties":{"$set":{"[AppsFlyer] appsflyer_id":"1700000000000-%019d"}}}`, d)
		}
		b = append(b, "]}"...)
		req, err := http.NewRequestWithContext(ctx, "POST", server+"/batch", bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("identifies %d..: %d %s", first, resp.StatusCode, answer)
		}
	}
	_, err := fmt.Fprintf(stdout, "{\"devices\":%d}\n", devices)
	return err
}

// loopbackOnly refuses a load test against anything but this machine.
func loopbackOnly(server string) error {
	u, err := url.Parse(server)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: load tests only run against this machine", server)
}
