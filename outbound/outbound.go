// Package outbound is the rule for where Touchpoint's outbound requests
// may go: postbacks, analytics forwards, event streams and cohort syncs
// all send to URLs that users configure, and none of them may be turned
// against the network the server runs in.
//
// The rule is applied twice: to a URL's host when the URL is saved
// (CheckURL, CheckHost: spelling, localhost, address literals), and to
// every address a send connects to (CheckAddr, from the dialer's Control
// hook: after DNS, so a name that resolves to a forbidden address is
// refused too). Senders do not follow redirects, so a redirect cannot
// lead anywhere either.
//
// Refused addresses (CheckAddr; docs/attribution.md lists them too):
//   - IPv4: 0.0.0.0/8 ("this network", 0.0.0.0 included), 10.0.0.0/8,
//     172.16.0.0/12 and 192.168.0.0/16 (private, RFC 1918), 100.64.0.0/10
//     (carrier-grade NAT), 127.0.0.0/8 (loopback), 169.254.0.0/16
//     (link-local, cloud metadata), 192.0.0.0/24 (IETF protocol
//     assignments), 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24
//     (documentation), 198.18.0.0/15 (benchmarking), 224.0.0.0/4
//     (multicast), 240.0.0.0/4 (reserved, 255.255.255.255 included).
//   - IPv6: anything outside global unicast (2000::/3): ::, ::1, the
//     deprecated IPv4-compatible ::a.b.c.d, fc00::/7 (unique local),
//     fe80::/10 (link-local), fec0::/10 (site-local), ff00::/8
//     (multicast), 100::/64 (discard), 64:ff9b:1::/48 (local NAT64); and
//     inside it 2001::/23 (IETF protocol assignments, Teredo's 2001::/32
//     among them), 2001:db8::/32 and 3fff::/20 (documentation).
//   - IPv6 forms that carry an IPv4 address are judged by that address:
//     IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4
//     2002:aabb:ccdd::.
//
// Documentation ranges are refused: no host on the Internet has one, so
// a URL naming one is a mistake or a probe. A closed network that uses
// them, or any private range, starts the server with
// --allow-private-postback-hosts, which lifts every address rule at once
// (Refused errors) but not the spelling rules below.
//
// Hosts are refused when saved, whatever the flag, when they are spelled
// so that programs disagree on what they mean: an IPv4 address in any
// form other than four decimal numbers without leading zeros (127.1,
// 2130706433, 0x7f.0.0.1, 0177.0.0.1, 127.000.000.001: some resolvers
// read them as 127.0.0.1, others look them up as names), and any
// non-ASCII character (IDNA would map 127。0。0。1 and fullwidth digits to
// 127.0.0.1; we refuse rather than normalise, and an internationalised
// name is written in its ASCII xn-- form). Unless the flag is set,
// localhost and *.localhost (RFC 6761) are refused when saved too; other
// names are judged when sending, by the addresses they resolve to.
package outbound

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Refused is an address or a name the rule refuses. Only these errors
// are lifted by --allow-private-postback-hosts.
type Refused struct {
	// Name is the host name that led to Addr, or the name refused (such
	// as localhost); empty when the host was written as an address.
	Name string
	// Addr is the refused address; invalid when a name is refused as
	// such.
	Addr netip.Addr
	// Reason says what the address is: "a loopback address".
	Reason string
}

// Error says what was refused and why, and how to allow it.
func (e *Refused) Error() string {
	var what string
	switch {
	case e.Addr.IsValid() && e.Name != "":
		what = fmt.Sprintf("%s resolves to %s, %s", e.Name, e.Addr, e.Reason)
	case e.Addr.IsValid():
		what = fmt.Sprintf("%s is %s", e.Addr, e.Reason)
	default:
		what = fmt.Sprintf("%s is %s", e.Name, e.Reason)
	}
	return what + ": outbound requests go to public hosts (a server started with --allow-private-postback-hosts allows it)"
}

type rangeRule struct {
	prefix netip.Prefix
	reason string
	// embedded, when set, returns the IPv4 address an IPv6 address of the
	// prefix carries: the address is judged by it.
	embedded func(netip.Addr) netip.Addr
}

func rules(reasons ...string) []rangeRule {
	out := make([]rangeRule, 0, len(reasons)/2)
	for i := 0; i < len(reasons); i += 2 {
		out = append(out, rangeRule{prefix: netip.MustParsePrefix(reasons[i]), reason: reasons[i+1]})
	}
	return out
}

// v4Rules are the refused IPv4 ranges, narrowest first where they nest.
var v4Rules = rules(
	"0.0.0.0/8", `a "this network" address (0.0.0.0/8)`,
	"10.0.0.0/8", "a private address (RFC 1918)",
	"100.64.0.0/10", "a shared address (100.64.0.0/10, carrier-grade NAT)",
	"127.0.0.0/8", "a loopback address",
	"169.254.0.0/16", "a link-local address",
	"172.16.0.0/12", "a private address (RFC 1918)",
	"192.0.0.0/24", "an IETF protocol address (192.0.0.0/24)",
	"192.0.2.0/24", "a documentation address (192.0.2.0/24)",
	"192.168.0.0/16", "a private address (RFC 1918)",
	"198.18.0.0/15", "a benchmarking address (198.18.0.0/15)",
	"198.51.100.0/24", "a documentation address (198.51.100.0/24)",
	"203.0.113.0/24", "a documentation address (203.0.113.0/24)",
	"224.0.0.0/4", "a multicast address",
	"255.255.255.255/32", "the broadcast address",
	"240.0.0.0/4", "a reserved address (240.0.0.0/4)",
)

// v6Rules are the refused IPv6 ranges and those judged by the IPv4
// address they carry, narrowest first where they nest.
var v6Rules = append([]rangeRule{
	{netip.MustParsePrefix("::ffff:0:0/96"), "an IPv4-mapped address", func(a netip.Addr) netip.Addr { return a.Unmap() }},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address", last4},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address", func(a netip.Addr) netip.Addr {
		b := a.As16()
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}},
}, rules(
	"::/128", "the unspecified address",
	"::1/128", "a loopback address",
	"::/96", "an IPv4-compatible address (deprecated)",
	"64:ff9b:1::/48", "a local-use NAT64 address (64:ff9b:1::/48)",
	"100::/64", "a discard-only address (100::/64)",
	"2001::/32", "a Teredo address (2001::/32)",
	"2001:db8::/32", "a documentation address (2001:db8::/32)",
	"2001::/23", "an IETF protocol address (2001::/23)",
	"3fff::/20", "a documentation address (3fff::/20)",
	"fc00::/7", "a unique local (private) address (fc00::/7)",
	"fe80::/10", "a link-local address",
	"fec0::/10", "a site-local address (deprecated)",
	"ff00::/8", "a multicast address",
)...)

// globalUnicast is where every public IPv6 address is.
var globalUnicast = netip.MustParsePrefix("2000::/3")

func last4(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
}

// CheckAddr is the rule for an address: nil when a request may connect
// to it, else a *Refused saying what it is. The zone of an IPv6 address
// plays no part.
func CheckAddr(a netip.Addr) error {
	if reason := forbidden(a.WithZone("")); reason != "" {
		return &Refused{Addr: a, Reason: reason}
	}
	return nil
}

// forbidden returns what a is when it is refused, or "".
func forbidden(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "no address"
	case a.Is4():
		for _, r := range v4Rules {
			if r.prefix.Contains(a) {
				return r.reason
			}
		}
		return ""
	}
	for _, r := range v6Rules {
		if !r.prefix.Contains(a) {
			continue
		}
		if r.embedded == nil {
			return r.reason
		}
		v4 := r.embedded(a)
		if why := forbidden(v4); why != "" {
			return fmt.Sprintf("%s of %s, %s", r.reason, v4, why)
		}
		return ""
	}
	if !globalUnicast.Contains(a) {
		return "not a global unicast address (2000::/3)"
	}
	return ""
}

// CheckHost checks a URL's host as written (host or host:port; an IPv6
// address in brackets; percent-escapes decoded, as url.URL.Host holds
// it): that it is spelled unambiguously, always; and, unless
// allowPrivate, that it is neither localhost nor a refused address. A
// name is judged when sending, by the addresses it resolves to. The
// errors are *Refused for what allowPrivate allows; plain errors, saying
// what to write instead, for the rest.
func CheckHost(hostport string, allowPrivate bool) error {
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		host, port = hostport[:i], hostport[i+1:]
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q: want 1 to 65535", port)
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() {
			return fmt.Errorf("host %q is not an IPv6 address", host)
		}
		if allowPrivate {
			return nil
		}
		return CheckAddr(a)
	}
	if err := spelling(host); err != nil {
		return err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if allowPrivate {
			return nil
		}
		return CheckAddr(a)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if !allowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return &Refused{Name: host, Reason: "a name of this machine (RFC 6761)"}
	}
	return nil
}

// spelling refuses a host, not in brackets, that programs could read
// differently: empty, non-ASCII, or numeric but not a canonical IPv4
// address.
func spelling(host string) error {
	if host == "" {
		return errors.New("the URL has no host")
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return fmt.Errorf("host %q has non-ASCII characters: write a name in its ASCII form (an internationalised name as xn--…) and an address in ASCII digits and dots", host)
		}
	}
	if endsInNumber(host) {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return fmt.Errorf("host %q is an IPv4 address in an unusual spelling: write it as four decimal numbers from 0 to 255, without leading zeros, such as 8.8.8.8", host)
		}
	}
	return nil
}

// endsInNumber reports whether the URL standard reads host as an IPv4
// address, in any of its spellings: its last label (a trailing dot
// aside) is decimal digits, or 0x and hexadecimal digits. Such a host is
// never a name.
func endsInNumber(host string) bool {
	labels := strings.Split(host, ".")
	if len(labels) > 1 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	last := labels[len(labels)-1]
	if last == "" {
		return false
	}
	digits := "0123456789"
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		last, digits = last[2:], "0123456789abcdefABCDEF"
	}
	for i := 0; i < len(last); i++ {
		if !strings.ContainsRune(digits, rune(last[i])) {
			return false
		}
	}
	return true
}

// CheckURL checks an outbound URL when it is saved: an absolute http or
// https URL, with no user info, whose host CheckHost allows.
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("does not parse: %v", errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("the scheme must be http or https")
	case u.User != nil:
		return errors.New("a URL with user info is refused: put credentials in the fields made for them")
	}
	return CheckHost(u.Host, allowPrivate)
}
