package outbound_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/outbound"
)

// verdicts of the rule
const (
	allowed  = "allowed"  // always
	refused  = "refused"  // a *Refused, lifted by allowPrivate
	spelling = "spelling" // refused whatever allowPrivate
)

// TestCheckHost: every spelling of a forbidden address or name is
// refused, with what it is; ambiguous spellings are refused even when
// private hosts are allowed; public addresses and names pass.
func TestCheckHost(t *testing.T) {
	for _, tc := range []struct {
		host, verdict, want string // want: in the message
	}{
		// IPv4 ranges, with their edges.
		{"127.0.0.1", refused, "127.0.0.1 is a loopback address"},
		{"127.0.0.1:8080", refused, "loopback"},
		{"127.255.255.254", refused, "loopback"},
		{"10.1.2.3", refused, "private address (RFC 1918)"},
		{"172.16.0.1", refused, "RFC 1918"},
		{"172.31.255.255", refused, "RFC 1918"},
		{"192.168.1.1:443", refused, "RFC 1918"},
		{"169.254.169.254", refused, "link-local"},
		{"0.0.0.0", refused, "this network"},
		{"0.1.2.3", refused, "this network"},
		{"100.64.0.1", refused, "carrier-grade NAT"},
		{"100.127.255.255", refused, "carrier-grade NAT"},
		{"198.18.0.1", refused, "benchmarking"},
		{"198.19.255.255", refused, "benchmarking"},
		{"240.0.0.1", refused, "reserved"},
		{"255.255.255.255", refused, "broadcast"},
		{"224.0.0.1", refused, "multicast"},
		{"239.255.255.250", refused, "multicast"},
		{"192.0.0.8", refused, "IETF protocol"},
		{"192.0.2.1", refused, "documentation"},
		{"198.51.100.7", refused, "documentation"},
		{"203.0.113.9", refused, "documentation"},
		{"8.8.8.8", allowed, ""},
		{"1.1.1.1:443", allowed, ""},
		{"11.0.0.0", allowed, ""},
		{"100.63.255.255", allowed, ""},
		{"100.128.0.0", allowed, ""},
		{"169.253.255.255", allowed, ""},
		{"172.15.255.255", allowed, ""},
		{"172.32.0.0", allowed, ""},
		{"192.0.1.1", allowed, ""},
		{"192.0.3.0", allowed, ""},
		{"198.17.255.255", allowed, ""},
		{"198.20.0.0", allowed, ""},
		{"223.255.255.255", allowed, ""},

		// IPv6, and IPv4 carried in IPv6.
		{"[::1]", refused, "::1 is a loopback address"},
		{"[::1]:443", refused, "loopback"},
		{"[0:0:0:0:0:0:0:1]", refused, "loopback"},
		{"[::]", refused, "unspecified"},
		{"[fc00::1]", refused, "unique local"},
		{"[fd12:3456::1]", refused, "unique local"},
		{"[fe80::1]", refused, "link-local"},
		{"[fe80::1%eth0]", refused, "link-local"},
		{"[fec0::1]", refused, "site-local"},
		{"[ff02::1]", refused, "multicast"},
		{"[ff0e::1]", refused, "multicast"},
		{"[::ffff:127.0.0.1]", refused, "IPv4-mapped address of 127.0.0.1, a loopback address"},
		{"[::ffff:7f00:1]", refused, "IPv4-mapped address of 127.0.0.1"},
		{"[::ffff:10.0.0.1]", refused, "IPv4-mapped address of 10.0.0.1, a private address"},
		{"[::ffff:169.254.169.254]", refused, "link-local"},
		{"[64:ff9b::127.0.0.1]", refused, "NAT64 address of 127.0.0.1, a loopback address"},
		{"[64:ff9b::a9fe:a9fe]", refused, "NAT64 address of 169.254.169.254, a link-local address"},
		{"[2002:7f00:1::]", refused, "6to4 address of 127.0.0.1, a loopback address"},
		{"[2002:c0a8:101::1]", refused, "6to4 address of 192.168.1.1"},
		{"[::127.0.0.1]", refused, "IPv4-compatible"},
		{"[::8.8.8.8]", refused, "IPv4-compatible"},
		{"[::ffff:0:7f00:1]", refused, "not a global unicast address"},
		{"[64:ff9b:1::1]", refused, "local-use NAT64"},
		{"[100::1]", refused, "discard-only"},
		{"[2001::1]", refused, "Teredo"},
		{"[2001:2::1]", refused, "IETF protocol"},
		{"[2001:db8::1]:443", refused, "documentation"},
		{"[3fff::1]", refused, "documentation"},
		{"[5f00::1]", refused, "not a global unicast address"},
		{"[2606:4700:4700::1111]", allowed, ""},
		{"[2001:4860:4860::8888]:443", allowed, ""},
		{"[::ffff:8.8.8.8]", allowed, ""},
		{"[64:ff9b::808:808]", allowed, ""},
		{"[2002:808:808::1]", allowed, ""},

		// Names: localhost when saved; the rest when sending.
		{"localhost", refused, "localhost is a name of this machine"},
		{"LOCALHOST", refused, "this machine"},
		{"localhost.", refused, "this machine"},
		{"localhost:8080", refused, "this machine"},
		{"api.localhost", refused, "this machine"},
		{"postback.example.net", allowed, ""},
		{"api3.appsflyer.com:443", allowed, ""},
		{"localhost.example.com", allowed, ""},
		{"xn--bcher-kva.example", allowed, ""},
		{"1e100.net", allowed, ""},
		{"0x7f.example", allowed, ""},
		{"127.0.0.1.nip.io", allowed, ""}, // a name: judged by what it resolves to, when sending

		// Spellings programs read differently.
		{"127.1", spelling, "unusual spelling"},
		{"2130706433", spelling, "unusual spelling"},
		{"0x7f.0.0.1", spelling, "unusual spelling"},
		{"0X7F.0.0.1", spelling, "unusual spelling"},
		{"0x7f000001", spelling, "unusual spelling"},
		{"0177.0.0.1", spelling, "unusual spelling"},
		{"127.000.000.001", spelling, "unusual spelling"},
		{"127.0.0.1.", spelling, "unusual spelling"},
		{"8.8.8.8.", spelling, "unusual spelling"},
		{"0", spelling, "unusual spelling"},
		{"1.2.3.4.5", spelling, "unusual spelling"},
		{"example.0x", spelling, "unusual spelling"},
		{"127。0。0。1", spelling, "non-ASCII"},
		{"１２７.0.0.1", spelling, "non-ASCII"},
		{"１２７．０．０．１", spelling, "non-ASCII"},
		{"bücher.example", spelling, "xn--"},
		{"", spelling, "no host"},
		{":80", spelling, "no host"},
		{"example.com:0", spelling, "port"},
		{"example.com:99999", spelling, "port"},
		{"[127.0.0.1]", spelling, "not an IPv6 address"},
		{"[example.com]", spelling, "not an IPv6 address"},
	} {
		var r *outbound.Refused
		err := outbound.CheckHost(tc.host, false)
		lifted := outbound.CheckHost(tc.host, true)
		switch tc.verdict {
		case allowed:
			if err != nil || lifted != nil {
				t.Errorf("%q: %v, allowing private: %v; want allowed", tc.host, err, lifted)
			}
			continue
		case refused:
			if !errors.As(err, &r) || lifted != nil {
				t.Errorf("%q: %v, allowing private: %v; want refused, allowed with the flag", tc.host, err, lifted)
				continue
			}
			if !strings.Contains(err.Error(), "--allow-private-postback-hosts") {
				t.Errorf("%q: %q does not say how to allow it", tc.host, err)
			}
		case spelling:
			if err == nil || errors.As(err, &r) || lifted == nil || lifted.Error() != err.Error() {
				t.Errorf("%q: %v, allowing private: %v; want refused either way, not as an address", tc.host, err, lifted)
				continue
			}
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %q, want it to say %q", tc.host, err, tc.want)
		}
	}
}

// TestCheckAddr: the dial-time check of resolved addresses, including
// the forms a resolver hands back (IPv4-mapped, zoned).
func TestCheckAddr(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1": "loopback", "::ffff:127.0.0.1": "loopback", "10.0.0.7": "private", "::1": "loopback",
		"fe80::1%lo": "link-local", "169.254.169.254": "link-local", "::ffff:100.64.1.1": "carrier-grade NAT",
		"93.184.215.14": "", "2606:4700:4700::1111": "", "::ffff:8.8.4.4": "",
	} {
		err := outbound.CheckAddr(netip.MustParseAddr(addr))
		var r *outbound.Refused
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v, want allowed", addr, err)
		case want != "" && (!errors.As(err, &r) || !strings.Contains(r.Reason, want) || r.Addr != netip.MustParseAddr(addr)):
			t.Errorf("%s: %v, want refused as %s", addr, err, want)
		}
	}
	if err := outbound.CheckAddr(netip.Addr{}); err == nil {
		t.Error("the zero address is allowed")
	}
	// A name that led to a refused address is named in the message.
	r := &outbound.Refused{Name: "pb.example.net", Addr: netip.MustParseAddr("127.0.0.1"), Reason: "a loopback address"}
	if got := r.Error(); !strings.HasPrefix(got, "pb.example.net resolves to 127.0.0.1, a loopback address: ") {
		t.Errorf("message %q", got)
	}
}

// TestCheckURL: the URL around the host.
func TestCheckURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://api2.amplitude.com":                "",
		"http://pb.example.net:8080/i?c=1":          "",
		"https://[2001:4860:4860::8888]/x":          "",
		"http://127.0.0.1:9/pb":                     "127.0.0.1 is a loopback address",
		"http://user@8.8.8.8/":                      "user info",
		"http://pb.example.net@127.0.0.1/":          "user info",
		"ftp://pb.example.net/":                     "scheme must be http or https",
		"pb.example.net/x":                          "scheme must be http or https",
		"http://%E3%80%82/":                         "non-ASCII", // percent-escapes are read as the host they spell
		"http://127%E3%80%820%E3%80%820%E3%80%821/": "non-ASCII",
		"http://[::1/":                              "does not parse",
		"http:///x":                                 "no host",
		"http://2130706433/":                        "unusual spelling",
		"http://[::ffff:a9fe:a9fe]/latest/meta":     "link-local",
	} {
		err := outbound.CheckURL(raw, false)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", raw, err, want)
		}
	}
	if err := outbound.CheckURL("http://127.0.0.1:9/pb", true); err != nil {
		t.Errorf("allowing private: %v", err)
	}
}
