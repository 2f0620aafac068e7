package safefetch

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		// wantReason is a fragment of the refusal ("" = public, allowed);
		// liftedByPrivate says whether AllowPrivate admits it.
		wantReason      string
		liftedByPrivate bool
	}{
		{"8.8.8.8", "", false},
		{"1.1.1.1", "", false},
		{"2606:4700:4700::1111", "", false},
		{"127.0.0.1", "loopback", true},
		{"127.255.255.254", "loopback", true},
		{"::1", "loopback", true},
		{"10.0.0.1", "private", true},
		{"172.16.0.1", "private", true},
		{"172.31.255.255", "private", true},
		{"172.32.0.1", "", false},
		{"192.168.1.1", "private", true},
		{"fd12:3456::1", "private", true},
		{"100.64.0.1", "CGNAT", true},
		{"100.127.255.255", "CGNAT", true},
		{"100.128.0.1", "", false},
		{"198.18.0.1", "benchmarking", true},
		{"169.254.169.254", "cloud metadata", false},
		{"169.254.170.2", "container metadata", false},
		{"100.100.100.200", "cloud metadata", false},
		{"fd00:ec2::254", "cloud metadata", false},
		{"169.254.1.1", "link-local", false},
		{"fe80::1", "link-local", false},
		{"fe80::1%eth0", "link-local", false},
		{"0.0.0.0", "unspecified", false},
		{"0.1.2.3", "unspecified", false},
		{"::", "unspecified", false},
		{"224.0.0.1", "multicast", false},
		{"239.255.255.250", "multicast", false},
		{"ff02::1", "multicast", false},
		{"255.255.255.255", "broadcast", false},
		{"240.0.0.1", "reserved", false},
		{"192.0.2.1", "documentation", false},
		{"2001:db8::1", "documentation", false},
		{"::ffff:127.0.0.1", "loopback address (as 127.0.0.1)", true},
		{"::ffff:169.254.169.254", "metadata", false},
		{"::ffff:8.8.8.8", "", false},
		{"64:ff9b::a00:1", "private address (as 10.0.0.1)", true},
		{"64:ff9b::808:808", "", false},
		{"2002:c0a8:101::1", "private address (as 192.168.1.1)", true},
		{"2002:808:808::1", "", false},
		{"::127.0.0.1", "IPv4-compatible", false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			a := netip.MustParseAddr(tc.addr)
			err := checkAddr(tc.addr, a, false)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("checkAddr(%s) = %v, want allowed", tc.addr, err)
				}
				return
			}
			if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), tc.wantReason) {
				t.Fatalf("checkAddr(%s) = %v, want a refusal mentioning %q", tc.addr, err, tc.wantReason)
			}
			errPrivate := checkAddr(tc.addr, a, true)
			if lifted := errPrivate == nil; lifted != tc.liftedByPrivate {
				t.Errorf("with AllowPrivate: checkAddr(%s) = %v, want lifted=%v", tc.addr, errPrivate, tc.liftedByPrivate)
			}
		})
	}
}

func TestBlockedErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *BlockedError
		want string
	}{
		{&BlockedError{Host: "10.0.0.1", Addr: netip.MustParseAddr("10.0.0.1"), Reason: "a private address"},
			"url: host 10.0.0.1 is a private address"},
		{&BlockedError{Host: "internal.example", Addr: netip.MustParseAddr("10.0.0.1"), Reason: "a private address"},
			"url: host internal.example resolves to 10.0.0.1, a private address"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
