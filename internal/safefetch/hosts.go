package safefetch

import (
	"fmt"
	"net/netip"
	"strings"
)

// hostPattern is one AllowedHosts entry: an exact host name or IP address,
// or "*.example.com" for any subdomain of example.com (not example.com
// itself).
type hostPattern struct {
	host     string // lowercase; for wildcards the suffix including the dot
	wildcard bool
}

func parsePattern(p string) (hostPattern, error) {
	orig := p
	p = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p)), ".")
	wildcard := strings.HasPrefix(p, "*.")
	name := strings.TrimPrefix(p, "*.")
	if a, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil && !wildcard {
		return hostPattern{host: a.String()}, nil
	}
	if !validHostname(name) {
		return hostPattern{}, fmt.Errorf("allowed host %q: want a host name, an IP address or *.domain", orig)
	}
	if wildcard {
		return hostPattern{host: "." + name, wildcard: true}, nil
	}
	return hostPattern{host: name}, nil
}

// validHostname accepts dot-separated ASCII labels of letters, digits,
// hyphens and underscores (IDNs are written in punycode).
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (p hostPattern) match(host string) bool {
	if p.wildcard {
		return len(host) > len(p.host) && strings.HasSuffix(host, p.host)
	}
	return host == p.host
}

// canonicalHost lowercases a URL host and writes IP addresses canonically,
// so that case or IPv6 spelling ("::FFFF:7f00:1") cannot dodge a pattern.
func canonicalHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone("").String()
	}
	return host
}
