package portmap

import (
	"github.com/shoal-torrent/shoal/portmap/portmaptest"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestUPnPMapsRenewsAndRemoves goes the whole way with a fake IGD found
// through SSDP: both ports mapped to this host, renewed before the lease
// ends, deleted on Close before Close returns.
func TestUPnPMapsRenewsAndRemoves(t *testing.T) {
	igd := portmaptest.NewIGD(t, "", nil)
	ssdpSrv := portmaptest.NewSSDP(t, igd.RootURL(), nil)
	cfg, statuses := testConfig(t)
	cfg.UPnP, cfg.SSDPAddr, cfg.Lease = true, ssdpSrv.Addr(), 2*time.Second
	m := start(t, cfg)

	search := <-ssdpSrv.Searches
	for _, want := range []string{"M-SEARCH * HTTP/1.1\r\n", "ST: " + searchTarget + "\r\n", "MAN: \"ssdp:discover\"\r\n", "MX: 1\r\n"} {
		if !strings.Contains(search, want) {
			t.Errorf("search lacks %q:\n%s", want, search)
		}
	}
	s := waitStatus(t, statuses, isState(StateMapped))
	if s.Method != UPnP || s.ExternalIP != netip.MustParseAddr("203.0.113.7") || len(s.Mappings) != 2 {
		t.Fatalf("status %+v", s)
	}
	for _, p := range []Protocol{TCP, UDP} {
		if mp, ok := s.Mapped(p, 6881); !ok || mp.External != 6881 {
			t.Errorf("%s not mapped: %+v", p, s)
		}
	}
	if got := s.String(); got != "forwarded via UPnP at "+igd.Addr()+": TCP 6881 → 203.0.113.7:6881, UDP 6881 → 203.0.113.7:6881" {
		t.Errorf("String() = %q", got)
	}
	// First round, then the renewal: the same requests again.
	for round := range 2 {
		if c := igd.NextCall(t); c.Action != "GetExternalIPAddress" {
			t.Fatalf("round %d: %s first", round, c.Action)
		}
		for _, proto := range []string{"TCP", "UDP"} {
			c := igd.NextCall(t)
			want := map[string]string{"NewRemoteHost": "", "NewExternalPort": "6881", "NewProtocol": proto, "NewInternalPort": "6881",
				"NewInternalClient": "127.0.0.1", "NewEnabled": "1", "NewPortMappingDescription": "shoal", "NewLeaseDuration": "2"}
			if c.Action != "AddPortMapping" || len(c.Args) != len(want) {
				t.Fatalf("round %d: %s %v", round, c.Action, c.Args)
			}
			for k, v := range want {
				if c.Args[k] != v {
					t.Errorf("round %d: %s = %q, want %q", round, k, c.Args[k], v)
				}
			}
		}
	}
	m.Close()
	if held := igd.Held(); len(held) != 0 {
		t.Fatalf("mappings left after Close: %v", held)
	}
	deleted := map[string]bool{}
	for len(deleted) < 2 {
		if c := igd.NextCall(t); c.Action == "DeletePortMapping" {
			deleted[c.Args["NewProtocol"]+" "+c.Args["NewExternalPort"]] = true
		}
	}
	if !deleted["TCP 6881"] || !deleted["UDP 6881"] {
		t.Fatalf("deleted %v", deleted)
	}
}

// TestUPnPPermanentLeaseOnly: a router answering 725 to a timed lease
// gets a permanent one, which Close removes.
func TestUPnPPermanentLeaseOnly(t *testing.T) {
	igd := portmaptest.NewIGD(t, "", func(w http.ResponseWriter, r *http.Request, c portmaptest.SOAPCall) bool {
		if c.Action == "AddPortMapping" && c.Args["NewLeaseDuration"] != "0" {
			portmaptest.SOAPFault(w, 725, "OnlyPermanentLeasesSupported")
			return true
		}
		return false
	})
	cfg, statuses := testConfig(t)
	cfg.UPnP, cfg.RootURL = true, igd.RootURL()
	m := start(t, cfg)
	waitStatus(t, statuses, isState(StateMapped))
	if held := igd.Held(); len(held) != 2 {
		t.Fatalf("held %v", held)
	}
	m.Close()
	if held := igd.Held(); len(held) != 0 {
		t.Fatalf("left %v", held)
	}
}

// TestUPnPRefusedFallsBackToNATPMP: a router with UPnP switched off (606)
// but NAT-PMP on is used through NAT-PMP.
func TestUPnPRefusedFallsBackToNATPMP(t *testing.T) {
	igd := portmaptest.NewIGD(t, "", func(w http.ResponseWriter, r *http.Request, c portmaptest.SOAPCall) bool {
		portmaptest.SOAPFault(w, 606, "Action not authorized")
		return true
	})
	pmp := portmaptest.NewNATPMP(t, nil)
	cfg, statuses := testConfig(t)
	cfg.UPnP, cfg.RootURL, cfg.NATPMP, cfg.NATPMPGateway = true, igd.RootURL(), true, pmp.IP
	start(t, cfg)
	s := waitStatus(t, statuses, isState(StateMapped))
	if s.Method != NATPMP {
		t.Fatalf("status %+v", s)
	}
}

// TestUPnPHostileAnswers: a gateway that answers garbage, too much or
// nothing at all gives a failed status that says so, is retried with
// backoff, and does not hold up Close.
func TestUPnPHostileAnswers(t *testing.T) {
	huge := strings.Replace(portmaptest.RootXML, "fake gateway", strings.Repeat("A", 1<<20), 1)
	for _, c := range []struct {
		name   string
		root   string
		answer func(w http.ResponseWriter, r *http.Request, c portmaptest.SOAPCall) bool
		want   string
	}{
		{name: "garbage-soap", want: "could not forward TCP 6881, UDP 6881: AddPortMapping: error decoding response body: XML syntax error",
			answer: func(w http.ResponseWriter, r *http.Request, c portmaptest.SOAPCall) bool {
				w.Write([]byte("\x00\x01 not xml at all <<<"))
				return true
			}},
		{name: "garbage-root", root: "<html>router login</html>", want: "root description: expected element type <root>"},
		{name: "huge-root", root: huge, want: "answer too large"},
		{name: "huge-soap", want: "answer too large",
			answer: func(w http.ResponseWriter, r *http.Request, c portmaptest.SOAPCall) bool {
				portmaptest.SOAPOK(w, c.Action, "<NewExternalIPAddress>"+strings.Repeat("9", 1<<20)+"</NewExternalIPAddress>")
				return true
			}},
		{name: "silent-soap", want: "could not forward TCP 6881, UDP 6881: no answer in time",
			answer: func(w http.ResponseWriter, r *http.Request, c portmaptest.SOAPCall) bool {
				<-r.Context().Done()
				return true
			}},
		{name: "soap-fault-text", want: "UPnP error 501 Action Failed \u009b",
			answer: func(w http.ResponseWriter, r *http.Request, c portmaptest.SOAPCall) bool {
				portmaptest.SOAPFault(w, 501, "Action Failed \u009b31m"+strings.Repeat("x", 500))
				return true
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			igd := portmaptest.NewIGD(t, c.root, c.answer)
			cfg, statuses := testConfig(t)
			cfg.UPnP, cfg.RootURL = true, igd.RootURL()
			m := start(t, cfg)
			s := waitStatus(t, statuses, isState(StateFailed))
			if strings.HasSuffix(c.want, "\u009b") {
				// Control bytes from the gateway never reach the status.
				if strings.ContainsAny(s.Err, "\u009b") || len(s.Err) > 2*maxReason || !strings.Contains(s.Err, "UPnP error 501 Action Failed") {
					t.Fatalf("err %q", s.Err)
				}
			} else if !strings.Contains(s.Err, c.want) {
				t.Fatalf("err %q lacks %q", s.Err, c.want)
			}
			// Retried with backoff: the description is fetched again.
			for range 2 {
				select {
				case <-igd.Fetches:
				case <-time.After(wait):
					t.Fatal("not retried")
				}
			}
			began := time.Now()
			m.Close()
			if d := time.Since(began); d > cfg.CloseTimeout+cfg.RequestTimeout {
				t.Fatalf("Close took %v", d)
			}
		})
	}
}

// TestSSDPHostileAnswers: answers that are not a gateway's location on
// the answering host are ignored, and the search ends in SearchWait.
func TestSSDPHostileAnswers(t *testing.T) {
	igd := portmaptest.NewIGD(t, "", nil)
	elsewhere := strings.Replace(igd.RootURL(), "127.0.0.1", "127.0.0.2", 1)
	const silent, ignored = "no gateway answered the SSDP search within 300ms", "SSDP answers ignored: their location is not an http URL on the answering host"
	for _, c := range []struct {
		name  string
		reply func(string) []byte
		want  string
	}{
		{"silent", func(string) []byte { return nil }, silent},
		{"other-host", func(string) []byte { return portmaptest.SSDPAnswer(elsewhere) }, ignored},
		{"hostname", func(string) []byte {
			return portmaptest.SSDPAnswer(strings.Replace(igd.RootURL(), "127.0.0.1", "localhost", 1))
		}, ignored},
		{"not-http", func(string) []byte { return portmaptest.SSDPAnswer("file:///etc/passwd") }, ignored},
		{"garbage", func(string) []byte { return []byte("\x00\xff garbage") }, silent},
		{"not-200", func(string) []byte {
			return []byte(strings.Replace(string(portmaptest.SSDPAnswer(igd.RootURL())), "200 OK", "404 Not Found", 1))
		}, silent},
		{"oversize", func(string) []byte {
			return []byte(strings.Replace(string(portmaptest.SSDPAnswer(igd.RootURL())), "EXT:", "X-Pad: "+strings.Repeat("p", 3000)+"\r\nEXT:", 1))
		}, silent},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := portmaptest.NewSSDP(t, "", c.reply)
			cfg, statuses := testConfig(t)
			cfg.UPnP, cfg.SSDPAddr = true, srv.Addr()
			began := time.Now()
			m := start(t, cfg)
			s := waitStatus(t, statuses, isState(StateFailed))
			if !strings.Contains(s.Err, c.want) {
				t.Fatalf("err %q", s.Err)
			}
			if d := time.Since(began); d > cfg.SearchWait+time.Second {
				t.Fatalf("took %v", d)
			}
			m.Close()
			select {
			case <-igd.Fetches:
				t.Fatal("fetched a location it should have ignored")
			default:
			}
		})
	}
}
