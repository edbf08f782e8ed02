package delivery_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/delivery"
	"github.com/touchpointhq/touchpoint/outbound"
	"github.com/touchpointhq/touchpoint/storetest"
)

// fakeDNS returns a resolver whose DNS server, on loopback, answers the
// names of hosts with their addresses and any other name with NXDOMAIN:
// no DNS outside is needed to make a name resolve to anything.
func fakeDNS(t *testing.T, hosts map[string]netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if answer, err := answerDNS(buf[:n], hosts); err == nil {
				pc.WriteTo(answer, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func answerDNS(query []byte, hosts map[string]netip.Addr) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	a, known := hosts[strings.TrimSuffix(q.Name.String(), ".")]
	rcode := dnsmessage.RCodeSuccess
	if !known {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: rcode})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	switch {
	case known && q.Type == dnsmessage.TypeA && a.Is4():
		err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
	case known && q.Type == dnsmessage.TypeAAAA && a.Is6():
		err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
	}
	if err != nil {
		return nil, err
	}
	return b.Finish()
}

// sink is a loopback server that counts its requests.
func sink(t *testing.T) (*httptest.Server, netip.AddrPort, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	if !ap.Addr().IsLoopback() {
		t.Fatalf("the test server is on %s, not a loopback address", ap)
	}
	return srv, ap, &hits
}

func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// refusedAs checks that err is the rule's refusal of addr, named as name.
func refusedAs(t *testing.T, what string, err error, name string, addr netip.Addr) {
	t.Helper()
	var r *outbound.Refused
	if !errors.As(err, &r) || r.Name != name || r.Addr != addr {
		t.Errorf("%s: %v, want %s refused as %s", what, err, name, addr)
	}
}

// TestDialRefusesResolvedAddress: a public-looking name that resolves to
// loopback passes the check made when saving (it is a name), and is
// refused when sending, by the address the dialer was about to connect
// to; with private hosts allowed, the same name reaches the server.
func TestDialRefusesResolvedAddress(t *testing.T) {
	srv, ap, hits := sink(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := fakeDNS(t, map[string]netip.Addr{"pb.partner.example": ap.Addr(), "v6.partner.example": netip.IPv6Loopback(),
		"meta.partner.example": netip.MustParseAddr("169.254.169.254")})
	url := "http://pb.partner.example:" + port + "/install"
	if err := outbound.CheckURL(url, false); err != nil {
		t.Fatalf("saving %s: %v (a name is judged when sending)", url, err)
	}
	strict := delivery.ClientConfig{Timeout: liveness, Resolver: dns}.Client()
	err := get(context.Background(), strict, url)
	refusedAs(t, url, err, "pb.partner.example", ap.Addr())
	if err == nil || !strings.Contains(err.Error(), "pb.partner.example resolves to 127.0.0.1, a loopback address") {
		t.Errorf("message %v", err)
	}
	refusedAs(t, "v6", get(context.Background(), strict, "http://v6.partner.example:"+port+"/"), "v6.partner.example", netip.IPv6Loopback())
	refusedAs(t, "metadata", get(context.Background(), strict, "http://meta.partner.example/latest/meta-data/"),
		"meta.partner.example", netip.MustParseAddr("169.254.169.254"))
	// The mark of a self-bound request is no way around it.
	refusedAs(t, "marked", get(delivery.ToSelf(context.Background()), strict, url), "pb.partner.example", ap.Addr())
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server was reached %d times", n)
	}

	// The flag lifts the rule: the same name and resolver reach it.
	open := delivery.ClientConfig{Timeout: liveness, AllowPrivate: true, Resolver: dns}.Client()
	if err := get(context.Background(), open, url); err != nil {
		t.Fatalf("allowing private hosts: %v", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("hits %d, want 1", n)
	}

	// Through the outbox, the attempt says why and the postback is given
	// up (a refusal is no answer: retried, here with one try).
	db := newStore(t)
	d := postback(url)
	d.MaxTries = 1
	enqueue(t, db, d)
	start(t, db, &clock{t: storetest.Start}, func(o *delivery.Outbox) { o.Client = strict })
	got := waitFor(t, db, d.ID, "failed", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliveryFailed })
	if want := "refused: pb.partner.example resolves to 127.0.0.1, a loopback address"; !strings.HasPrefix(got.Attempts[0].Error, want) {
		t.Errorf("attempt error %q, want %q…", got.Attempts[0].Error, want)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("hits %d, want still 1", n)
	}
}

// TestRefusedLiterals: addresses written in the URL are refused when
// sending too (a URL saved before the rule, or by a server with the flag).
func TestRefusedLiterals(t *testing.T) {
	srv, ap, hits := sink(t)
	c := delivery.NewClient(liveness, false)
	refusedAs(t, "loopback", get(context.Background(), c, srv.URL), "", ap.Addr())
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	mapped := netip.MustParseAddr("::ffff:" + ap.Addr().String())
	err := get(context.Background(), c, "http://[::ffff:"+ap.Addr().String()+"]:"+port+"/")
	var r *outbound.Refused
	if !errors.As(err, &r) || r.Addr.Unmap() != ap.Addr() {
		t.Errorf("%s: %v, want refused", mapped, err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("hits %d", n)
	}
}

// TestSelfAddress: this server's own address is reached only by requests
// marked as going to an integration's default URL, and only through a
// URL that names the address: not unmarked (a postback), not another
// port, not a name that resolves to it, and not over a connection a
// marked request left open.
func TestSelfAddress(t *testing.T) {
	self, selfAddr, selfHits := sink(t)
	other, _, otherHits := sink(t)
	_, port, _ := net.SplitHostPort(self.Listener.Addr().String())
	dns := fakeDNS(t, map[string]netip.Addr{"self.partner.example": selfAddr.Addr()})
	c := delivery.ClientConfig{Timeout: liveness, Self: []netip.AddrPort{selfAddr}, Resolver: dns}.Client()
	marked := delivery.ToSelf(context.Background())

	if err := get(marked, c, self.URL+"/attribution"); err != nil {
		t.Fatalf("marked, to the self address: %v", err)
	}
	refusedAs(t, "unmarked", get(context.Background(), c, self.URL+"/attribution"), "", selfAddr.Addr())
	refusedAs(t, "another port", get(marked, c, other.URL), "", selfAddr.Addr())
	refusedAs(t, "a name of self", get(marked, c, "http://self.partner.example:"+port+"/"), "self.partner.example", selfAddr.Addr())
	var r *outbound.Refused
	if err := get(marked, c, "http://localhost:"+port+"/"); !errors.As(err, &r) || r.Name != "localhost" || !r.Addr.IsLoopback() {
		t.Errorf("localhost: %v, want refused", err)
	}
	if n, m := selfHits.Load(), otherHits.Load(); n != 1 || m != 0 {
		t.Errorf("hits %d and %d, want 1 and 0", n, m)
	}

	// Through the outbox: an event stream to this server is delivered; a
	// postback to the same URL, and a stream to another loopback port,
	// are refused.
	db := newStore(t)
	toSelf, toOther, pbSelf := streamDelivery(self.URL+"/inappevent/id123"), streamDelivery(other.URL+"/inappevent/id123"), postback(self.URL+"/pb")
	toOther.MaxTries, pbSelf.MaxTries = 1, 1
	enqueue(t, db, toSelf, toOther, pbSelf)
	start(t, db, &clock{t: storetest.Start}, func(o *delivery.Outbox) { o.Client = c })
	if got := waitFor(t, db, toSelf.ID, "done", func(d *touchpoint.Delivery) bool { return d.Tries > 0 }); got.State != touchpoint.DeliverySucceeded {
		t.Errorf("to self: %s, %+v", got.State, got.Attempts)
	}
	for what, d := range map[string]*touchpoint.Delivery{"stream to another port": toOther, "postback to self": pbSelf} {
		got := waitFor(t, db, d.ID, "failed", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliveryFailed })
		if !strings.HasPrefix(got.Attempts[0].Error, "refused: 127.0.0.1 is a loopback address") {
			t.Errorf("%s: %+v", what, got.Attempts[0])
		}
	}
	if n, m := selfHits.Load(), otherHits.Load(); n != 2 || m != 0 {
		t.Errorf("hits %d and %d, want 2 and 0", n, m)
	}
}

// TestNoRedirects: a 3xx is the answer; its Location is not followed,
// so it cannot lead a request anywhere.
func TestNoRedirects(t *testing.T) {
	target, _, targetHits := sink(t)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/latest/meta-data/", http.StatusFound)
	}))
	defer redirect.Close()
	c := delivery.NewClient(liveness, true)
	resp, err := c.Get(redirect.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || targetHits.Load() != 0 {
		t.Errorf("status %d, %d hits on the target", resp.StatusCode, targetHits.Load())
	}
}
