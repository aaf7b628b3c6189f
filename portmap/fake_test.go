package portmap

import (
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// wait is how long a test waits for something that should happen at once.
const wait = 10 * time.Second

// testConfig forwards TCP and UDP 6881 with both methods off: each test
// switches on the ones it points at fakes, so nothing leaves loopback.
func testConfig(t *testing.T) (Config, chan Status) {
	cfg := DefaultConfig(Port{TCP, 6881}, Port{UDP, 6881})
	cfg.UPnP, cfg.NATPMP = false, false
	cfg.SearchWait = 300 * time.Millisecond
	cfg.RequestTimeout = time.Second
	cfg.CloseTimeout = 2 * time.Second
	cfg.RetryMin, cfg.RetryMax = 10*time.Millisecond, 40*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	statuses := make(chan Status, 1024)
	cfg.OnStatus = func(s Status) { statuses <- s }
	return cfg, statuses
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// start starts a Mapper and closes it when the test ends.
func start(t *testing.T, cfg Config) *Mapper {
	t.Helper()
	m, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// waitStatus returns the first status ok accepts.
func waitStatus(t *testing.T, statuses <-chan Status, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case s := <-statuses:
			t.Logf("status: %s", s)
			if ok(s) {
				return s
			}
		case <-deadline:
			t.Fatal("no such status in time")
		}
	}
}

func isState(st State) func(Status) bool { return func(s Status) bool { return s.State == st } }

// soapCall is one SOAP request the fake IGD received.
type soapCall struct {
	action string
	args   map[string]string
}

// fakeIGD is a UPnP Internet Gateway Device on 127.0.0.1: a root
// description and a WANIPConnection:1 control endpoint.
type fakeIGD struct {
	srv   *httptest.Server
	calls chan soapCall
	// fetches gets a value each time the root description is read.
	fetches chan struct{}
	// root is the description served; rootXML by default.
	root string
	// answer, when set, answers an action instead of the fake's rules;
	// it returns false to leave it to them.
	answer func(w http.ResponseWriter, r *http.Request, c soapCall) bool

	mu       sync.Mutex
	mappings map[string]string // "TCP 6881" -> internal client
}

const rootXML = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>fake gateway</friendlyName>
<UDN>uuid:11111111-2222-3333-4444-555555555555</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn</controlURL>
<eventSubURL>/evt/IPConn</eventSubURL>
<SCPDURL>/WANIPCn.xml</SCPDURL>
</service></serviceList>
</device></deviceList>
</device></deviceList>
</device>
</root>`

const soapNS = "urn:schemas-upnp-org:service:WANIPConnection:1"

// newFakeIGD serves root (rootXML when empty) and answers with answer
// where it says so.
func newFakeIGD(t *testing.T, root string, answer func(w http.ResponseWriter, r *http.Request, c soapCall) bool) *fakeIGD {
	if root == "" {
		root = rootXML
	}
	g := &fakeIGD{calls: make(chan soapCall, 1024), fetches: make(chan struct{}, 1024), root: root, answer: answer, mappings: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rootDesc.xml", func(w http.ResponseWriter, r *http.Request) {
		g.fetches <- struct{}{}
		io.WriteString(w, g.root)
	})
	mux.HandleFunc("POST /ctl/IPConn", g.control)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeIGD) rootURL() string { return g.srv.URL + "/rootDesc.xml" }

func (g *fakeIGD) control(w http.ResponseWriter, r *http.Request) {
	var env struct {
		Body struct {
			Action struct {
				XMLName xml.Name
				Args    []struct {
					XMLName xml.Name
					Value   string `xml:",chardata"`
				} `xml:",any"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	if err := xml.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&env); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := soapCall{action: env.Body.Action.XMLName.Local, args: map[string]string{}}
	for _, a := range env.Body.Action.Args {
		c.args[a.XMLName.Local] = a.Value
	}
	if want := `"` + soapNS + "#" + c.action + `"`; r.Header.Get("SOAPAction") != want {
		http.Error(w, "bad SOAPAction "+r.Header.Get("SOAPAction"), http.StatusBadRequest)
		return
	}
	g.calls <- c
	if g.answer != nil && g.answer(w, r, c) {
		return
	}
	key := c.args["NewProtocol"] + " " + c.args["NewExternalPort"]
	switch c.action {
	case "GetExternalIPAddress":
		soapOK(w, c.action, "<NewExternalIPAddress>203.0.113.7</NewExternalIPAddress>")
	case "AddPortMapping":
		g.mu.Lock()
		g.mappings[key] = c.args["NewInternalClient"]
		g.mu.Unlock()
		soapOK(w, c.action, "")
	case "DeletePortMapping":
		g.mu.Lock()
		_, ok := g.mappings[key]
		delete(g.mappings, key)
		g.mu.Unlock()
		if !ok {
			soapFault(w, 714, "NoSuchEntryInArray")
			return
		}
		soapOK(w, c.action, "")
	default:
		soapFault(w, 401, "Invalid Action")
	}
}

func (g *fakeIGD) held() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]string{}
	for k, v := range g.mappings {
		out[k] = v
	}
	return out
}

// nextCall returns the next SOAP call the fake received.
func (g *fakeIGD) nextCall(t *testing.T) soapCall {
	t.Helper()
	select {
	case c := <-g.calls:
		return c
	case <-time.After(wait):
		t.Fatal("no SOAP call in time")
		return soapCall{}
	}
}

func soapOK(w http.ResponseWriter, action, inner string) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:%sResponse xmlns:u="%s">%s</u:%sResponse></s:Body></s:Envelope>`,
		action, soapNS, inner, action)
}

func soapFault(w http.ResponseWriter, code int, desc string) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>%d</errorCode><errorDescription>%s</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`,
		code, desc)
}

// fakeSSDP answers M-SEARCHes on a loopback UDP socket with a location.
type fakeSSDP struct {
	conn     *net.UDPConn
	searches chan string
	// reply makes the answer to a search; a location answer by default.
	reply func(search string) []byte
}

// newFakeSSDP answers with reply, or with location when reply is nil.
func newFakeSSDP(t *testing.T, location string, reply func(search string) []byte) *fakeSSDP {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSSDP{conn: conn, searches: make(chan string, 1024), reply: reply}
	if s.reply == nil {
		s.reply = func(string) []byte { return ssdpAnswer(location) }
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			s.searches <- string(buf[:n])
			if b := s.reply(string(buf[:n])); b != nil {
				conn.WriteToUDP(b, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

// ssdpAnswer is a gateway's answer to a search, pointing at location.
func ssdpAnswer(location string) []byte {
	return []byte("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: " + searchTarget +
		"\r\nUSN: uuid:11111111-2222-3333-4444-555555555555::" + searchTarget +
		"\r\nEXT:\r\nSERVER: fake/1.0 UPnP/1.1 fake/1.0\r\nLOCATION: " + location + "\r\n\r\n")
}

func (s *fakeSSDP) addr() string { return s.conn.LocalAddr().String() }

// natpmpRequest is one request the fake NAT-PMP gateway received.
type natpmpRequest struct {
	op                 byte
	internal, external uint16
	lifetime           uint32
}

// fakeNATPMP is a NAT-PMP gateway on a random 127.x.y.z:5351 (the port is
// fixed by the protocol and the library). It grants external port
// internal+1000 and the lifetime asked for.
type fakeNATPMP struct {
	ip       netip.Addr
	conn     *net.UDPConn
	requests chan natpmpRequest
	// reply, when set, answers instead of the fake's rules; nil bytes
	// mean silence.
	reply func(req []byte) []byte
}

func newFakeNATPMP(t *testing.T, reply func(req []byte) []byte) *fakeNATPMP {
	var conn *net.UDPConn
	var ip netip.Addr
	var err error
	for range 20 {
		ip = netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(250)), byte(rand.IntN(256)), byte(2 + rand.IntN(250))})
		if conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 5351))); err == nil {
			break
		}
	}
	if err != nil {
		t.Skipf("cannot bind a loopback NAT-PMP port: %v", err)
	}
	g := &fakeNATPMP{ip: ip, conn: conn, requests: make(chan natpmpRequest, 1024), reply: reply}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1100)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if b := g.answer(buf[:n]); b != nil {
				conn.WriteToUDP(b, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return g
}

func (g *fakeNATPMP) answer(req []byte) []byte {
	if len(req) < 2 || req[0] != 0 {
		return nil
	}
	r := natpmpRequest{op: req[1]}
	if len(req) >= 12 {
		r.internal = binary.BigEndian.Uint16(req[4:6])
		r.external = binary.BigEndian.Uint16(req[6:8])
		r.lifetime = binary.BigEndian.Uint32(req[8:12])
	}
	g.requests <- r
	if g.reply != nil {
		return g.reply(req)
	}
	switch {
	case r.op == 0:
		return []byte{0, 128, 0, 0, 0, 0, 0, 1, 198, 51, 100, 9}
	case (r.op == 1 || r.op == 2) && len(req) == 12:
		b := make([]byte, 16)
		b[1] = 128 + r.op
		binary.BigEndian.PutUint32(b[4:8], 1)
		binary.BigEndian.PutUint16(b[8:10], r.internal)
		ext := r.internal + 1000
		if r.lifetime == 0 {
			ext = 0
		}
		binary.BigEndian.PutUint16(b[10:12], ext)
		binary.BigEndian.PutUint32(b[12:16], r.lifetime)
		return b
	}
	return nil
}

func (g *fakeNATPMP) next(t *testing.T) natpmpRequest {
	t.Helper()
	select {
	case r := <-g.requests:
		return r
	case <-time.After(wait):
		t.Fatal("no NAT-PMP request in time")
		return natpmpRequest{}
	}
}
