package delivery

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// errPrivate is a send refused because its host resolved to a private,
// loopback or link-local address.
var errPrivate = errors.New("refused: the host resolves to a private or loopback address (see --allow-private-postback-hosts)")

// private reports whether an address is one a postback must not reach by
// default: loopback, private (RFC 1918, RFC 4193), link-local, CGNAT,
// unspecified or multicast.
func private(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

// CheckHost is the rule for where a template may send, checked when it is
// saved: any public host; private and loopback addresses (and localhost)
// only when allowPrivate. A name that resolves to a private address later
// is refused when sending (NewClient's dialer).
func CheckHost(hostport string, allowPrivate bool) error {
	if allowPrivate {
		return nil
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if a, err := netip.ParseAddr(host); err == nil && private(a) ||
		strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return touchpoint.Errorf(touchpoint.EINVALID, "host %s is a private or loopback address: postbacks go to public hosts (a server started with --allow-private-postback-hosts allows them)", hostport)
	}
	return nil
}

// NewClient returns the HTTP client sends use: it does not follow
// redirects (a 3xx is the partner's answer), keeps connections to each
// host alive, and, unless allowPrivate, refuses to connect to private and
// loopback addresses whatever name led there. The addresses in self are
// this server itself (where integrations send by default): always
// allowed.
func NewClient(timeout time.Duration, allowPrivate bool, self ...netip.AddrPort) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return errPrivate
			}
			if slices.Contains(self, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())) {
				return nil
			}
			if private(ap.Addr()) {
				return errPrivate
			}
			return nil
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = dialer.DialContext
	transport.MaxIdleConnsPerHost = 64
	transport.ResponseHeaderTimeout = timeout
	transport.Proxy = nil // postbacks go straight to the partner
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
