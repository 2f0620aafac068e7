package main

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// maxShownAddrs bounds the host addresses the listening line lists: a
// machine with many interfaces (containers, VPNs) should not flood it.
const maxShownAddrs = 4

// listeningText is what serve and demo print once they serve: a URL to
// open, and for a server on every interface where else it answers.
func listeningText(addr net.Addr, hostAddrs func() ([]net.Addr, error)) string {
	local, others, every := serveURLs(addr, hostAddrs)
	text := fmt.Sprintf("comfygate listening on %s (docs: %s/docs)\n", local, local)
	switch {
	case !every:
	case len(others) == 0:
		text += "  on every interface: from elsewhere, use this host's address with the same port\n"
	case len(others) > maxShownAddrs:
		text += "  on every interface, also " + strings.Join(others[:maxShownAddrs], ", ") + ", …\n"
	default:
		text += "  on every interface, also " + strings.Join(others, ", ") + "\n"
	}
	return text
}

// serveURLs turns the address a server listens on into URLs a person can
// open: the address itself, or, for the unspecified address (every
// interface, as 0.0.0.0:8080 or :8080 listen), the loopback URL first and
// then this host's other addresses the listener answers on. hostAddrs is
// net.InterfaceAddrs in production; its failure only loses the extras.
func serveURLs(addr net.Addr, hostAddrs func() ([]net.Addr, error)) (local string, others []string, every bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil || !ap.Addr().IsUnspecified() {
		return "http://" + addr.String(), nil, false
	}
	port := ap.Port()
	// A "tcp" listener on [::] is dual-stack: 127.0.0.1 reaches it too.
	local = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	addrs, err := hostAddrs()
	if err != nil {
		return local, nil, true
	}
	for _, a := range addrs {
		ip, ok := reachableIP(a, ap.Addr().Is4())
		if !ok {
			continue
		}
		u := "http://" + netip.AddrPortFrom(ip, port).String()
		if !slices.Contains(others, u) {
			others = append(others, u)
		}
	}
	return local, others, true
}

// reachableIP is an interface address a remote client can use: not
// loopback, not link-local (which needs a zone), IPv4 only when the
// listener is IPv4 only.
func reachableIP(a net.Addr, v4Only bool) (netip.Addr, bool) {
	var ip net.IP
	switch a := a.(type) {
	case *net.IPNet:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	default:
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, false
	}
	addr = addr.Unmap()
	if !addr.IsGlobalUnicast() || v4Only && !addr.Is4() {
		return netip.Addr{}, false
	}
	return addr, true
}
