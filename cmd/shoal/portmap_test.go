package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/portmap"
	"github.com/shoal-torrent/shoal/portmap/portmaptest"
	"github.com/shoal-torrent/shoal/swarm"
)

// TestSeedForwardsThroughUPnP: seed, with forwarding on as by default,
// maps its TCP and UDP port on the (fake) router, says so in its output,
// and removes both mappings when stopped.
func TestSeedForwardsThroughUPnP(t *testing.T) {
	igd := portmaptest.NewIGD(t, "", nil)
	pmp := portmaptest.NewNATPMP(t, nil)
	src, tor := seedFixture(t, 256<<10, "32KiB")
	re := regexp.MustCompile(`^port (\d+) forwarded via UPnP, external 203\.0\.113\.7:\d+$`)
	b := startShoalUntil(t, re, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--no-tui",
		"--upnp-url", igd.RootURL(), "--natpmp-gateway", pmp.IP.String())
	held := igd.Held()
	if len(held) != 2 || held["TCP "+b.port] != "127.0.0.1" || held["UDP "+b.port] != "127.0.0.1" {
		t.Fatalf("router holds %v, want TCP and UDP %s", held, b.port)
	}
	if code := b.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if held := igd.Held(); len(held) != 0 {
		t.Fatalf("mappings left after seed stopped: %v", held)
	}
}

// TestGetForwardsThroughNATPMPAndAnnouncesIt: a router refusing UPnP is
// asked through NAT-PMP; the port it grants is in the --json events and
// in the next announce.
func TestGetForwardsThroughNATPMPAndAnnouncesIt(t *testing.T) {
	igd := portmaptest.NewIGD(t, "", func(w http.ResponseWriter, r *http.Request, c portmaptest.SOAPCall) bool {
		portmaptest.SOAPFault(w, 606, "Action not authorized")
		return true
	})
	pmp := portmaptest.NewNATPMP(t, nil)
	announced := make(chan int, 64)
	tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		p, _ := strconv.Atoi(q.Get("port"))
		select {
		case announced <- p:
		default:
		}
		w.Write([]byte("d8:intervali1800e5:peers0:e"))
	}))
	defer tr.Close()
	src := t.TempDir()
	piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "pack/a.bin", Size: 100 << 10}})
	tor := filepath.Join(t.TempDir(), "pack.torrent")
	if code, _, stderr := shoal(t, "create", filepath.Join(src, "pack"), "-o", tor, "-t", tr.URL+"/announce"); code != 0 {
		t.Fatal(stderr)
	}
	re := regexp.MustCompile(`"event":"port_forwarding","external_ip":"198\.51\.100\.9","external_port":(\d+),"forwarding":"nat-pmp","info_hash":"[0-9a-f]{40}","listen_port":\d+,"port_open":true`)
	// get on complete data seeds it, and keeps running.
	b := startShoalUntil(t, re, "get", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--no-tui", "--json",
		"--upnp-url", igd.RootURL(), "--natpmp-gateway", pmp.IP.String())
	ext, _ := strconv.Atoi(b.port)
	deadline := time.After(10 * time.Second)
	for p := 0; p != ext; {
		select {
		case p = <-announced:
		case <-deadline:
			t.Fatalf("no announce with the mapped port %d", ext)
		}
	}
	b.stop()
}

func TestNetworkText(t *testing.T) {
	for _, c := range []struct {
		st   portmap.Status
		want string
	}{
		{portmap.Status{State: portmap.StateSearching}, "port 6881: looking for a UPnP, NAT-PMP or PCP gateway to forward it"},
		{portmap.Status{State: portmap.StateFailed, Err: "UPnP: no gateway answered"}, "port 6881 not forwarded: UPnP: no gateway answered"},
		{portmap.Status{State: portmap.StateMapped, Method: portmap.UPnP, ExternalIP: netip.MustParseAddr("203.0.113.7"),
			Mappings: []portmap.Mapping{{Protocol: portmap.TCP, Internal: 6881, External: 6881}}}, "port 6881 forwarded via UPnP, external 203.0.113.7:6881"},
		{portmap.Status{State: portmap.StateMapped, Method: portmap.UPnP, ExternalIP: netip.MustParseAddr("100.72.1.2"),
			Mappings: []portmap.Mapping{{Protocol: portmap.TCP, Internal: 6881, External: 6881}}},
			"port 6881 forwarded via UPnP, external 100.72.1.2:6881 (a private address: another NAT beyond the router, e.g. the ISP's, may still keep peers out)"},
		{portmap.Status{State: portmap.StateMapped, Method: portmap.NATPMP,
			Mappings: []portmap.Mapping{{Protocol: portmap.TCP, Internal: 6881, External: 7000}}}, "port 6881 forwarded via NAT-PMP, external port 7000"},
		{portmap.Status{State: portmap.StateMapped, Method: portmap.UPnP, Err: "could not forward TCP 6881: taken",
			Mappings: []portmap.Mapping{{Protocol: portmap.TCP, Internal: 6881, Err: "taken"}, {Protocol: portmap.UDP, Internal: 6881, External: 6881}}},
			"port 6881 not forwarded: could not forward TCP 6881: taken"},
	} {
		n := networkSnapshot(c.st, 6881)
		n.ListenPort = 6881
		if got := networkText(n); got != c.want {
			t.Errorf("%+v: %q, want %q", c.st, got, c.want)
		}
	}
	if got := networkText(swarm.NetworkSnapshot{ListenPort: 1, Forwarding: forwardingOff}); got != "port 1: port forwarding off" {
		t.Error(got)
	}
}

// TestHermeticTurnsForwardingOff: the test helper that builds command
// lines keeps get and seed off the real router.
func TestHermeticTurnsForwardingOff(t *testing.T) {
	for _, args := range [][]string{{"get", "x"}, {"seed", "x", "--no-dht"}, {"get", "x", "--upnp-url", "http://127.0.0.1:1/"}} {
		if got := hermetic(args); !slices.Contains(got, "--no-port-forwarding") {
			t.Errorf("%v -> %v", args, got)
		}
	}
	faked := []string{"seed", "x", "--upnp-url", "u", "--natpmp-gateway", "127.0.0.9"}
	if got := hermetic(faked); slices.Contains(got, "--no-port-forwarding") {
		t.Errorf("%v -> %v", faked, got)
	}
}
