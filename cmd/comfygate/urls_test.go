package main

import (
	"errors"
	"net"
	"net/http"
	"regexp"
	"testing"
)

func TestListeningText(t *testing.T) {
	t.Parallel()
	ipnet := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return n
	}
	host := func(addrs ...string) func() ([]net.Addr, error) {
		return func() ([]net.Addr, error) {
			var out []net.Addr
			for _, a := range addrs {
				out = append(out, ipnet(a))
			}
			return out, nil
		}
	}
	machine := host("127.0.0.1/8", "::1/128", "192.168.1.20/24", "fe80::1/64", "169.254.3.4/16", "2001:db8::5/64", "10.88.0.1/16")
	tcp := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	for _, tc := range []struct {
		name string
		addr net.Addr
		host func() ([]net.Addr, error)
		want string
	}{
		{"loopback", tcp("127.0.0.1", 8080), machine,
			"comfygate listening on http://127.0.0.1:8080 (docs: http://127.0.0.1:8080/docs)\n"},
		{"one address", tcp("192.168.1.20", 8080), machine,
			"comfygate listening on http://192.168.1.20:8080 (docs: http://192.168.1.20:8080/docs)\n"},
		{"IPv6 address", tcp("2001:db8::5", 8080), machine,
			"comfygate listening on http://[2001:db8::5]:8080 (docs: http://[2001:db8::5]:8080/docs)\n"},
		{"every IPv4 interface: IPv4 addresses, no loopback or link-local", tcp("0.0.0.0", 8080), machine,
			"comfygate listening on http://127.0.0.1:8080 (docs: http://127.0.0.1:8080/docs)\n" +
				"  on every interface, also http://192.168.1.20:8080, http://10.88.0.1:8080\n"},
		{"every interface, dual-stack (:8080)", tcp("::", 8080), machine,
			"comfygate listening on http://127.0.0.1:8080 (docs: http://127.0.0.1:8080/docs)\n" +
				"  on every interface, also http://192.168.1.20:8080, http://[2001:db8::5]:8080, http://10.88.0.1:8080\n"},
		{"many addresses are cut short", tcp("0.0.0.0", 80), host("10.0.0.1/8", "10.0.0.2/8", "10.0.0.3/8", "10.0.0.4/8", "10.0.0.5/8"),
			"comfygate listening on http://127.0.0.1:80 (docs: http://127.0.0.1:80/docs)\n" +
				"  on every interface, also http://10.0.0.1:80, http://10.0.0.2:80, http://10.0.0.3:80, http://10.0.0.4:80, …\n"},
		{"no other address known", tcp("0.0.0.0", 8080), func() ([]net.Addr, error) { return nil, errors.New("no interfaces") },
			"comfygate listening on http://127.0.0.1:8080 (docs: http://127.0.0.1:8080/docs)\n" +
				"  on every interface: from elsewhere, use this host's address with the same port\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := listeningText(tc.addr, tc.host); got != tc.want {
				t.Errorf("listeningText:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestServeOnEveryInterfacePrintsUsableURL starts serve on 0.0.0.0 (with
// a key, so nothing is open to the network) and opens the URL it prints,
// over loopback.
func TestServeOnEveryInterfacePrintsUsableURL(t *testing.T) {
	g := startRun(t, "serve", "--listen", "0.0.0.0:0", "--data", t.TempDir(), "--api-key", "ops:0123456789abcdef-key")
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+$`).MatchString(g.URL) {
		t.Fatalf("printed %q, want a loopback URL; stdout:\n%s", g.URL, g.stdout)
	}
	newAPIClient(t, g.URL).must(http.StatusOK, "GET", "/healthz", nil)
}
