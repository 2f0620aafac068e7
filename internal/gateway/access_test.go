package gateway

import (
	"errors"
	"strings"
	"testing"
)

// TestProxyAllowed: admins reach every backend route; other keys only the
// subtrees the allowlist opens, under /api too, and no path that a
// backend could read as another route.
func TestProxyAllowed(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Admins = []string{"root"}
		c.ProxyAllow = []string{"/sim/stats", "/my_node/"}
	})
	tests := []struct {
		owner, path string
		ok          bool
	}{
		{"root", "/sim/faults", true},
		{"root", "/anything/at/all", true},
		{"", "/sim/faults", true}, // authentication off: everyone is the admin
		{"alice", "/sim/faults", false},
		{"alice", "/sim", false},
		{"alice", "/internal/logs", false},
		{"alice", "/sim/stats", true},
		{"alice", "/api/sim/stats", true},
		{"alice", "/sim/stats/", true},
		{"alice", "/sim/statsx", false},
		{"alice", "/sim/stats/../faults", false},
		{"alice", "/sim/stats/%2e%2e/faults", false},
		{"alice", "/sim/stats%2F..%2Ffaults", false},
		{"alice", "/sim/stats/..", false},
		{"alice", "//sim/stats", false},
		{"alice", `/sim/stats\..\faults`, false},
		{"alice", "/my_node", true},
		{"alice", "/my_node/run", true},
		{"alice", "/my_nodes", false},
		{"alice", "/api/my_node/run", true},
		{"alice", "/apix/my_node/run", false},
	}
	for _, tt := range tests {
		err := e.svc.ProxyAllowed(tt.owner, tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("%s → %s: err = %v, want allowed %v", tt.owner, tt.path, err, tt.ok)
		}
		var fe *ForbiddenError
		if err != nil && (!errors.As(err, &fe) || !strings.Contains(fe.Message, tt.path) || !strings.Contains(fe.Message, "--proxy-allow")) {
			t.Errorf("%s → %s: refusal %v does not name the route and --proxy-allow", tt.owner, tt.path, err)
		}
	}
}

func TestProxyAllowOnlyPlainPrefixes(t *testing.T) {
	for _, p := range []string{"/sim", "/my_node/", "/a/b"} {
		if err := CheckProxyPrefix(p); err != nil {
			t.Errorf("CheckProxyPrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "/", "sim", "/api/sim", "/a/../b", "/a//b", "/a%2fb", "/a?x", `/a\b`} {
		if err := CheckProxyPrefix(p); err == nil {
			t.Errorf("CheckProxyPrefix(%q) accepted", p)
		}
	}
	if err := newEnvErr(t, func(c *Config) { c.ProxyAllow = []string{"/"} }); err == nil {
		t.Error("New accepted --proxy-allow /")
	}
}
