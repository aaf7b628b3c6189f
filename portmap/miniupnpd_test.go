package portmap

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// netnsEnv marks the copy of the test binary that runs inside a network
// namespace of its own.
const netnsEnv = "SHOAL_PORTMAP_NETNS"

// TestMiniupnpd maps ports on a real gateway: miniupnpd (the Debian
// package), in a network namespace made for the test, with the test's own
// copy of this binary as the LAN host. The namespace has no link to the
// outside, so nothing leaves the machine. Skipped without miniupnpd,
// unshare or root.
func TestMiniupnpd(t *testing.T) {
	if os.Getenv(netnsEnv) == "" {
		for _, bin := range []string{"miniupnpd", "unshare", "ip", "nft"} {
			if _, err := exec.LookPath(bin); err != nil {
				t.Skipf("no %s: %v", bin, err)
			}
		}
		if os.Geteuid() != 0 {
			t.Skip("a network namespace needs root")
		}
		if err := exec.Command("unshare", "--net", "true").Run(); err != nil {
			t.Skipf("cannot make a network namespace: %v", err)
		}
		cmd := exec.Command("unshare", "--net", "--", os.Args[0], "-test.run=^TestMiniupnpd$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), netnsEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in the namespace:\n%s", out)
		if err != nil {
			t.Fatalf("the test in the namespace failed: %v", err)
		}
		if !strings.Contains(string(out), "--- PASS: TestMiniupnpd") {
			t.Fatal("the test in the namespace did not pass")
		}
		return
	}

	dir := t.TempDir()
	// The gateway: WAN on ext0 (a made-up public address), LAN on lan0;
	// veth pairs, as the kernel here may lack the dummy driver.
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "ext0", "type", "veth", "peer", "name", "ext1"},
		{"link", "add", "lan0", "type", "veth", "peer", "name", "lan1"},
		{"addr", "add", "11.22.33.44/24", "dev", "ext0"},
		{"addr", "add", "192.168.77.1/24", "dev", "lan0"},
		{"link", "set", "ext0", "up"}, {"link", "set", "ext1", "up"},
		{"link", "set", "lan0", "up"}, {"link", "set", "lan1", "up"},
		{"route", "add", "default", "via", "11.22.33.1", "dev", "ext0"},
		{"route", "add", "239.0.0.0/8", "dev", "lan0"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	// The chains miniupnpd's nftables backend fills (what its
	// nft_init.sh makes; Debian's copy lacks a file it needs).
	ruleset := `table inet filter {
	chain forward { type filter hook forward priority 0; policy drop; jump miniupnpd; }
	chain miniupnpd { }
	chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
	chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
	chain prerouting_miniupnpd { }
	chain postrouting_miniupnpd { }
}
`
	nft := exec.Command("nft", "-f", "-")
	nft.Stdin = strings.NewReader(ruleset)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Skipf("nftables unusable here: %v %s", err, out)
	}
	leases := filepath.Join(dir, "leases")
	conf := filepath.Join(dir, "miniupnpd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`ext_ifname=ext0
listening_ip=lan0
http_port=5000
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
lease_file=%s
uuid=3d3cec3a-8cf0-11e0-98ee-001a6b3ab1ca
allow 1024-65535 192.168.77.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`, leases)), 0o644); err != nil {
		t.Fatal(err)
	}
	gw := exec.Command("miniupnpd", "-d", "-f", conf, "-P", filepath.Join(dir, "pid"))
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	gw.Stdout, gw.Stderr = logf, logf
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		gw.Process.Signal(syscall.SIGTERM)
		gw.Wait()
		b, _ := os.ReadFile(logf.Name())
		t.Logf("miniupnpd:\n%s", b)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "192.168.77.1:5000", time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("miniupnpd does not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a process we do not control, with a deadline
	}
	leased := func() string {
		b, _ := os.ReadFile(leases)
		return string(b)
	}

	// PCP, which miniupnpd speaks beside NAT-PMP: the Mapper would use
	// NAT-PMP here, so the PCP client is driven directly.
	t.Run("pcp", func(t *testing.T) {
		g, err := newPCPGateway(netip.MustParseAddr("192.168.77.1"), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, p := range []Port{{TCP, 6881}, {UDP, 6881}} {
			ext, lease, err := g.add(ctx, p, 6881, time.Hour)
			if err != nil || ext != 6881 || lease != time.Hour {
				t.Fatalf("%s: %d %v %v", p.Protocol, ext, lease, err)
			}
		}
		if ip, _ := g.externalIP(ctx); ip != netip.MustParseAddr("11.22.33.44") {
			t.Errorf("external address %v", ip)
		}
		for _, want := range []string{"TCP:6881:192.168.77.1:6881", "UDP:6881:192.168.77.1:6881"} {
			if !strings.Contains(leased(), want) {
				t.Errorf("miniupnpd's leases lack %s:\n%s", want, leased())
			}
		}
		for _, p := range []Port{{TCP, 6881}, {UDP, 6881}} {
			if err := g.remove(ctx, p, 6881); err != nil {
				t.Fatal(err)
			}
		}
		if l := leased(); strings.Contains(l, ":6881:") {
			t.Errorf("leases left after removal:\n%s", l)
		}
	})

	for _, c := range []struct {
		name   string
		method Method
		edit   func(*Config)
	}{
		{"upnp-ssdp", UPnP, func(cfg *Config) { cfg.UPnP = true; cfg.SSDPAddr = SSDPMulticast; cfg.SearchWait = 2 * time.Second }},
		{"nat-pmp", NATPMP, func(cfg *Config) {
			cfg.NATPMP, cfg.NATPMPGateway = true, netip.MustParseAddr("192.168.77.1")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, statuses := testConfig(t)
			cfg.Ports = []Port{{TCP, 6881}, {UDP, 6881}}
			c.edit(&cfg)
			m := start(t, cfg)
			s := waitStatus(t, statuses, func(s Status) bool { return s.State != StateSearching })
			if s.State != StateMapped || s.Method != c.method || s.ExternalIP != netip.MustParseAddr("11.22.33.44") {
				t.Fatalf("status %+v", s)
			}
			for _, p := range []Protocol{TCP, UDP} {
				if _, ok := s.Mapped(p, 6881); !ok {
					t.Errorf("%s not mapped: %s", p, s)
				}
			}
			for _, want := range []string{"TCP:6881:192.168.77.1:6881", "UDP:6881:192.168.77.1:6881"} {
				if !strings.Contains(leased(), want) {
					t.Errorf("miniupnpd's leases lack %s:\n%s", want, leased())
				}
			}
			m.Close()
			if l := leased(); strings.Contains(l, ":6881:") {
				t.Errorf("leases left after Close:\n%s", l)
			}
		})
	}
}
