package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/outbound"
)

// ClientConfig is how NewClient's clients are made.
type ClientConfig struct {
	// Timeout bounds connecting and waiting for the answer's headers.
	Timeout time.Duration
	// AllowPrivate lifts the outbound rule (--allow-private-postback-hosts).
	AllowPrivate bool
	// Self are this server's own addresses, where integrations whose URL
	// was left to its default send. Only requests marked with ToSelf
	// reach them, and only through a URL that names one of them as an
	// address.
	Self []netip.AddrPort
	// Resolver looks names up; nil: the system's. Tests supply their own.
	Resolver *net.Resolver
}

// NewClient returns the HTTP client sends use (see ClientConfig.Client).
func NewClient(timeout time.Duration, allowPrivate bool, self ...netip.AddrPort) *http.Client {
	return ClientConfig{Timeout: timeout, AllowPrivate: allowPrivate, Self: self}.Client()
}

// Client returns an HTTP client that does not follow redirects (a 3xx is
// the destination's answer), keeps connections to each host alive, goes
// through no proxy, and, unless AllowPrivate, connects only to addresses
// the outbound rule allows (outbound.CheckAddr, checked on the address
// connected to, whatever name led there). The exception is Self, for
// requests marked with ToSelf whose URL names a self address: they have
// their own connections, so no other request ever reuses one.
func (c ClientConfig) Client() *http.Client {
	g := &guard{strict: c.transport(nil)}
	if !c.AllowPrivate && len(c.Self) > 0 {
		for _, ap := range c.Self {
			g.self = append(g.self, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		}
		g.toSelf = c.transport(g.self)
	}
	return &http.Client{
		Transport:     g,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// transport returns a transport whose connections the rule allows, and
// those to self.
func (c ClientConfig) transport(self []netip.AddrPort) *http.Transport {
	dialer := &net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second, Resolver: c.Resolver}
	if !c.AllowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("refused: %q is not an address that can be checked", address)
			}
			if slices.Contains(self, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())) {
				return nil
			}
			return outbound.CheckAddr(ap.Addr())
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, address)
		var r *outbound.Refused
		if errors.As(err, &r) && r.Name == "" {
			// Name the host that led to the refused address.
			host, _, _ := net.SplitHostPort(address)
			if _, perr := netip.ParseAddr(host); perr != nil {
				return nil, &outbound.Refused{Name: host, Addr: r.Addr, Reason: r.Reason}
			}
		}
		return conn, err
	}
	transport.MaxIdleConnsPerHost = 64
	transport.ResponseHeaderTimeout = c.Timeout
	transport.Proxy = nil // requests go straight to the destination
	return transport
}

// guard sends a request through the transport it may use: the one to
// self for marked requests to a self address, the strict one otherwise.
type guard struct {
	strict, toSelf *http.Transport
	self           []netip.AddrPort
}

// RoundTrip implements http.RoundTripper.
func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if g.toSelf != nil && req.Context().Value(selfKey{}) != nil && slices.Contains(g.self, urlAddr(req)) {
		return g.toSelf.RoundTrip(req)
	}
	return g.strict.RoundTrip(req)
}

// CloseIdleConnections closes both transports' idle connections.
func (g *guard) CloseIdleConnections() {
	g.strict.CloseIdleConnections()
	if g.toSelf != nil {
		g.toSelf.CloseIdleConnections()
	}
}

// urlAddr is the address and port a request's URL names; invalid when
// its host is a name.
func urlAddr(req *http.Request) netip.AddrPort {
	a, err := netip.ParseAddr(req.URL.Hostname())
	if err != nil {
		return netip.AddrPort{}
	}
	port := 80
	if req.URL.Scheme == "https" {
		port = 443
	}
	if p := req.URL.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 0 || port > 65535 {
			return netip.AddrPort{}
		}
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port))
}

type selfKey struct{}

// ToSelf marks the requests made with ctx as going to a URL left to its
// default, this server: NewClient's clients let them reach their Self
// addresses. Only the integrations whose URL defaults to this server mark
// their requests; no other request can reach those addresses, whatever
// its URL names or resolves to.
func ToSelf(ctx context.Context) context.Context {
	return context.WithValue(ctx, selfKey{}, true)
}

// defaultsToSelf reports whether a kind's URL may default to this server:
// the integrations'. Postbacks always name their partner's host.
func defaultsToSelf(k touchpoint.DeliveryKind) bool {
	return k == touchpoint.KindAnalyticsForward || k == touchpoint.KindEventStream
}
