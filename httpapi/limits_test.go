package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/httpapi"
)

// reused reports, for a GET with client, whether its connection was one
// kept from an earlier request.
func reused(t *testing.T, client *http.Client, url string) bool {
	t.Helper()
	var got atomic.Bool
	req, _ := http.NewRequest("GET", url, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { got.Store(i.Reused) },
	}))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	return got.Load()
}

// An idle keep-alive connection is closed after IdleTimeout.
func TestIdleTimeout(t *testing.T) {
	s := startServer(t, func(s *httpapi.Server) { s.IdleTimeout = 100 * time.Millisecond })
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	reused(t, client, s.URL()+"/healthz")
	if !reused(t, client, s.URL()+"/healthz") {
		t.Fatal("a connection used at once again was not kept")
	}
	time.Sleep(time.Second) // ten idle timeouts
	if reused(t, client, s.URL()+"/healthz") {
		t.Fatal("a connection idle for ten idle timeouts was still open")
	}
}

// Connections are bounded, and near the bound idle ones are closed so that
// a new client is served rather than kept waiting for an idle timeout.
func TestConnectionLimit(t *testing.T) {
	const max = 8
	s := startServer(t, func(s *httpapi.Server) {
		s.MaxConns = max
		s.IdleTimeout = time.Hour // only shedding can free a slot
	})
	var clients []*http.Client
	for range max {
		c := &http.Client{Transport: &http.Transport{}}
		defer c.CloseIdleConnections()
		reused(t, c, s.URL()+"/healthz") // one idle connection each
		clients = append(clients, c)
	}
	// A ninth client is served.
	done := make(chan error, 1)
	go func() {
		c := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
		defer c.CloseIdleConnections()
		resp, err := c.Get(s.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a client past the bound: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a client past the bound was not served: idle connections hold every slot")
	}
	// The idle connections were closed to make room.
	closed := 0
	for _, c := range clients {
		if !reused(t, c, s.URL()+"/healthz") {
			closed++
		}
	}
	if closed == 0 {
		t.Error("no idle connection was closed near the bound")
	}
}

// The bytes of bodies being decoded at once are bounded: an upload that
// finds no room waits, and past DecodeWait is answered 503 with nothing
// stored; once room is made, uploads go through.
func TestDecodingBudget(t *testing.T) {
	s := startServer(t, func(s *httpapi.Server) {
		s.MaxDecodingBytes = 1 << 20
		s.DecodeWait = 300 * time.Millisecond
	})
	p := s.createProject(t, nil)
	body := func(device string, pad int) string {
		return fmt.Sprintf(`{"api_key":%q,"events":[{"event_type":"open","device_id":%q,"event_properties":{"pad":%q}}]}`,
			p.APIKey, device, strings.Repeat("x", pad))
	}
	// A slow upload holds the whole budget while its body arrives.
	slow := body("device-slow", 900<<10)
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", s.URL()+"/batch", pr)
	req.ContentLength = int64(len(slow))
	slowDone := make(chan reply, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slowDone <- reply{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slowDone <- reply{resp.StatusCode, string(b)}
	}()
	if _, err := io.WriteString(pw, slow[:len(slow)/2]); err != nil {
		t.Fatal(err)
	}
	// Another upload finds no room, waits, and is refused.
	code, answer := post(t, s.URL()+"/batch", "application/json", []byte(body("device-refused", 200<<10)))
	if code != 503 || !strings.Contains(answer, "too many uploads are being read at once") {
		t.Fatalf("an upload past the budget: %d %s", code, answer)
	}
	if n := len(s.deviceEvents(t, p, "device-refused")); n != 0 {
		t.Fatalf("the refused upload stored %d events", n)
	}
	// The slow one finishes; then there is room.
	io.WriteString(pw, slow[len(slow)/2:])
	pw.Close()
	if r := <-slowDone; r.code != 200 {
		t.Fatalf("the slow upload: %d %s", r.code, r.body)
	}
	if code, answer := post(t, s.URL()+"/batch", "application/json", []byte(body("device-later", 200<<10))); code != 200 {
		t.Fatalf("an upload after room was made: %d %s", code, answer)
	}
	// Small uploads share the budget: many fit at once.
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			code, answer := post(t, s.URL()+"/2/httpapi", "application/json", []byte(body(fmt.Sprintf("device-%d", i), 10)))
			if code != 200 {
				errs <- fmt.Errorf("small upload %d: %d %s", i, code, answer)
				return
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
