package safefetch

import (
	"fmt"
	"net/netip"
)

// rule names one address range a fetch may not reach.
type rule struct {
	prefix  netip.Prefix
	reason  string // completes "host X is …"
	private bool   // Config.AllowPrivate lifts it
}

func r(cidr, reason string, private bool) rule {
	return rule{prefix: netip.MustParsePrefix(cidr), reason: reason, private: private}
}

// rules are checked in order; the first match decides. Specific cloud
// metadata addresses come before the ranges that contain them, because
// AllowPrivate must never open them.
var rules = []rule{
	r("169.254.169.254/32", "a link-local (cloud metadata) address", false),
	r("169.254.170.2/32", "a link-local (container metadata) address", false),
	r("100.100.100.200/32", "a cloud metadata address", false),
	r("fd00:ec2::254/128", "a cloud metadata address", false),

	r("0.0.0.0/8", `an unspecified ("this network") address`, false),
	r("127.0.0.0/8", "a loopback address", true),
	r("10.0.0.0/8", "a private address", true),
	r("172.16.0.0/12", "a private address", true),
	r("192.168.0.0/16", "a private address", true),
	r("100.64.0.0/10", "a shared (CGNAT) address", true),
	r("198.18.0.0/15", "a benchmarking address", true),
	r("169.254.0.0/16", "a link-local address", false),
	r("192.0.0.0/24", "an IETF protocol address", false),
	r("192.0.2.0/24", "a documentation address", false),
	r("198.51.100.0/24", "a documentation address", false),
	r("203.0.113.0/24", "a documentation address", false),
	r("224.0.0.0/4", "a multicast address", false),
	r("240.0.0.0/4", "a reserved or broadcast address", false),

	r("::/128", "an unspecified address", false),
	r("::1/128", "a loopback address", true),
	r("::/96", "an IPv4-compatible address", false),
	r("100::/64", "a discard-only address", false),
	r("2001::/32", "a Teredo address", false),
	r("2001:db8::/32", "a documentation address", false),
	r("fc00::/7", "a private (unique local) address", true),
	r("fe80::/10", "a link-local address", false),
	r("fec0::/10", "a site-local address", true),
	r("ff00::/8", "a multicast address", false),
}

// embedded IPv6 ranges that carry an IPv4 address, which is what the packet
// reaches in the end, so that address is what gets checked.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour  = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address stands for, if any.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if a.Is4In6() {
		return a.Unmap(), true
	}
	b := a.As16()
	switch {
	case nat64.Contains(a), nat64Local.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// classify returns the reason a is refused and whether AllowPrivate lifts
// it; "" means a is a public address.
func classify(a netip.Addr) (reason string, private bool) {
	a = a.WithZone("") // a zoned address matches no prefix
	if v4, ok := embeddedIPv4(a); ok {
		reason, private = classify(v4)
		if reason != "" {
			reason = fmt.Sprintf("%s (as %s)", reason, v4)
		}
		return reason, private
	}
	for _, rl := range rules {
		if rl.prefix.Contains(a) {
			return rl.reason, rl.private
		}
	}
	return "", false
}

// checkAddr refuses addresses outside the public internet, unless allowed.
// host is the name the URL used, for the error message.
func checkAddr(host string, a netip.Addr, allowPrivate bool) error {
	if !a.IsValid() {
		return &BlockedError{Host: host, Reason: "not an IP address"}
	}
	reason, private := classify(a)
	if reason == "" || (private && allowPrivate) {
		return nil
	}
	return &BlockedError{Host: host, Addr: a, Reason: reason}
}
