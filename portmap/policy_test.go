package portmap

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRenewAt(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		lease, want time.Duration
	}{
		{time.Hour, 30 * time.Minute},
		{7200 * time.Second, time.Hour},
		{0, permanentRecheck},
		{time.Second, minRenew},
		{100 * time.Millisecond, minRenew},
	} {
		if got := renewAt(now, c.lease); got.Sub(now) != c.want {
			t.Errorf("lease %v: renew after %v, want %v", c.lease, got.Sub(now), c.want)
		}
	}
}

func TestRetryAt(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := retryAt(now, i+1, 30*time.Second, 15*time.Minute).Sub(now); got != w {
			t.Errorf("failure %d: retry after %v, want %v", i+1, got, w)
		}
	}
	if got := retryAt(now, 1<<30, time.Second, time.Hour).Sub(now); got != time.Hour {
		t.Errorf("many failures: %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig(Port{TCP, 6881}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no-ports", func(c *Config) { c.Ports = nil }, "no port"},
		{"port-0", func(c *Config) { c.Ports = []Port{{TCP, 0}} }, "port 0"},
		{"twice", func(c *Config) { c.Ports = []Port{{TCP, 1}, {TCP, 1}} }, "twice"},
		{"sctp", func(c *Config) { c.Ports = []Port{{"SCTP", 1}} }, "protocol"},
		{"neither", func(c *Config) { c.UPnP, c.NATPMP = false, false }, "neither"},
		{"lease", func(c *Config) { c.Lease = 1500 * time.Millisecond }, "lease"},
		{"ssdp", func(c *Config) { c.SSDPAddr = "router" }, "SSDP"},
		{"root", func(c *Config) { c.RootURL = "ftp://x/" }, "root description"},
		{"pmp-v6", func(c *Config) { c.NATPMPGateway = netip.MustParseAddr("::1") }, "IPv4"},
		{"retry", func(c *Config) { c.RetryMax = time.Second }, "maximum retry"},
		{"body", func(c *Config) { c.MaxBody = 10 }, "body limit"},
		{"timeout", func(c *Config) { c.RequestTimeout = 0 }, "request timeout"},
	} {
		cfg := DefaultConfig(Port{TCP, 6881})
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestReason(t *testing.T) {
	got := reason(errors.New("a\n\x1b[2Jb\u009b" + strings.Repeat("é", 1000)))
	if strings.ContainsAny(got, "\n\x1b\u009b") || len([]rune(got)) > maxReason+1 || !strings.HasPrefix(got, "a [2Jb ") {
		t.Fatalf("%q", got)
	}
}

func TestParseRoutes(t *testing.T) {
	table := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	ip, err := parseRoutes([]byte(table))
	if err != nil || ip != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("%v %v", ip, err)
	}
	for _, bad := range []string{"", "header only\n", "h\neth0\t00000000\t00000000\t0001\n", "h\neth0\t00000000\tzz\t0003\n", "h\neth0\t00000000\t010200C0\t0001\n"} {
		if ip, err := parseRoutes([]byte(bad)); err == nil {
			t.Errorf("%q: %v", bad, ip)
		}
	}
}

func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte("Iface\tDestination\tGateway\tFlags\neth0\t00000000\t010200C0\t0003\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ip, err := parseRoutes(b); err == nil && (!ip.Is4() || ip.IsUnspecified()) {
			t.Fatalf("%v", ip)
		}
	})
}
