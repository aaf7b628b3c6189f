// Package portmaptest holds fake gateways for tests of port forwarding:
// a UPnP Internet Gateway Device (root description and SOAP control over
// HTTP on 127.0.0.1), an SSDP responder on a loopback UDP socket and a
// NAT-PMP gateway on a random 127.x.y.z:5351. Nothing they do leaves
// loopback.
package portmaptest

import (
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// wait is how long a test waits for something that should happen at once.
const wait = 10 * time.Second

// SearchTarget is the device type gateways answer SSDP searches for.
const SearchTarget = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"

// SOAPCall is one SOAP request the fake IGD received.
type SOAPCall struct {
	Action string
	Args   map[string]string
}

// IGD is a UPnP Internet Gateway Device on 127.0.0.1: a root
// description and a WANIPConnection:1 control endpoint.
type IGD struct {
	srv   *httptest.Server
	Calls chan SOAPCall
	// fetches gets a value each time the root description is read.
	Fetches chan struct{}
	// root is the description served; RootXML by default.
	root string
	// answer, when set, answers an action instead of the fake's rules;
	// it returns false to leave it to them.
	answer func(w http.ResponseWriter, r *http.Request, c SOAPCall) bool

	mu       sync.Mutex
	mappings map[string]string // "TCP 6881" -> internal client
}

// RootXML describes a gateway with one WANIPConnection:1 service.
const RootXML = `<?xml version="1.0"?>
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

// ServiceType is the service the fake IGD controls.
const ServiceType = "urn:schemas-upnp-org:service:WANIPConnection:1"

// NewIGD serves root (RootXML when empty) and answers with answer
// where it says so.
func NewIGD(t testing.TB, root string, answer func(w http.ResponseWriter, r *http.Request, c SOAPCall) bool) *IGD {
	if root == "" {
		root = RootXML
	}
	g := &IGD{Calls: make(chan SOAPCall, 1024), Fetches: make(chan struct{}, 1024), root: root, answer: answer, mappings: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rootDesc.xml", func(w http.ResponseWriter, r *http.Request) {
		g.Fetches <- struct{}{}
		io.WriteString(w, g.root)
	})
	mux.HandleFunc("POST /ctl/IPConn", g.control)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// RootURL is where the root description is served.
func (g *IGD) RootURL() string { return g.srv.URL + "/rootDesc.xml" }

func (g *IGD) control(w http.ResponseWriter, r *http.Request) {
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
	c := SOAPCall{Action: env.Body.Action.XMLName.Local, Args: map[string]string{}}
	for _, a := range env.Body.Action.Args {
		c.Args[a.XMLName.Local] = a.Value
	}
	if want := `"` + ServiceType + "#" + c.Action + `"`; r.Header.Get("SOAPAction") != want {
		http.Error(w, "bad SOAPAction "+r.Header.Get("SOAPAction"), http.StatusBadRequest)
		return
	}
	g.Calls <- c
	if g.answer != nil && g.answer(w, r, c) {
		return
	}
	key := c.Args["NewProtocol"] + " " + c.Args["NewExternalPort"]
	switch c.Action {
	case "GetExternalIPAddress":
		SOAPOK(w, c.Action, "<NewExternalIPAddress>203.0.113.7</NewExternalIPAddress>")
	case "AddPortMapping":
		g.mu.Lock()
		g.mappings[key] = c.Args["NewInternalClient"]
		g.mu.Unlock()
		SOAPOK(w, c.Action, "")
	case "DeletePortMapping":
		g.mu.Lock()
		_, ok := g.mappings[key]
		delete(g.mappings, key)
		g.mu.Unlock()
		if !ok {
			SOAPFault(w, 714, "NoSuchEntryInArray")
			return
		}
		SOAPOK(w, c.Action, "")
	default:
		SOAPFault(w, 401, "Invalid Action")
	}
}

// Held returns the mappings in place, "TCP 6881" to internal client.
func (g *IGD) Held() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]string{}
	for k, v := range g.mappings {
		out[k] = v
	}
	return out
}

// NextCall returns the next SOAP call the fake received.
func (g *IGD) NextCall(t testing.TB) SOAPCall {
	t.Helper()
	select {
	case c := <-g.Calls:
		return c
	case <-time.After(wait):
		t.Fatal("no SOAP call in time")
		return SOAPCall{}
	}
}

// SOAPOK writes a successful answer to action with inner as its body.
func SOAPOK(w http.ResponseWriter, action, inner string) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:%sResponse xmlns:u="%s">%s</u:%sResponse></s:Body></s:Envelope>`,
		action, ServiceType, inner, action)
}

// SOAPFault writes a UPnP error as routers do: HTTP 500 and a SOAP fault.
func SOAPFault(w http.ResponseWriter, code int, desc string) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>%d</errorCode><errorDescription>%s</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`,
		code, desc)
}

// SSDP answers M-SEARCHes on a loopback UDP socket with a location.
type SSDP struct {
	conn     *net.UDPConn
	Searches chan string
	// reply makes the answer to a search; a location answer by default.
	reply func(search string) []byte
}

// NewSSDP answers with reply, or with location when reply is nil.
func NewSSDP(t testing.TB, location string, reply func(search string) []byte) *SSDP {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &SSDP{conn: conn, Searches: make(chan string, 1024), reply: reply}
	if s.reply == nil {
		s.reply = func(string) []byte { return SSDPAnswer(location) }
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
			s.Searches <- string(buf[:n])
			if b := s.reply(string(buf[:n])); b != nil {
				conn.WriteToUDP(b, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

// SSDPAnswer is a gateway's answer to a search, pointing at location.
func SSDPAnswer(location string) []byte {
	return []byte("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: " + SearchTarget +
		"\r\nUSN: uuid:11111111-2222-3333-4444-555555555555::" + SearchTarget +
		"\r\nEXT:\r\nSERVER: fake/1.0 UPnP/1.1 fake/1.0\r\nLOCATION: " + location + "\r\n\r\n")
}

// Addr is where to send searches.
func (s *SSDP) Addr() string { return s.conn.LocalAddr().String() }

// NATPMPRequest is one request the fake NAT-PMP gateway received.
type NATPMPRequest struct {
	Version, Op byte
	// Raw is the whole datagram (a PCP request's fields are elsewhere).
	Raw                []byte
	Internal, External uint16
	Lifetime           uint32
}

// NATPMP is a NAT-PMP gateway on a random 127.x.y.z:5351 (the port is
// fixed by the protocol and the library). It grants external port
// internal+1000 and the lifetime asked for.
type NATPMP struct {
	done     chan struct{}
	IP       netip.Addr
	conn     *net.UDPConn
	Requests chan NATPMPRequest
	// reply, when set, answers instead of the fake's rules; nil bytes
	// mean silence.
	reply func(req []byte) []byte
}

func NewNATPMP(t testing.TB, reply func(req []byte) []byte) *NATPMP {
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
	g := &NATPMP{IP: ip, conn: conn, Requests: make(chan NATPMPRequest, 1024), reply: reply}
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
	g.done = done
	t.Cleanup(g.Close)
	return g
}

// Close stops the fake: nothing listens on its port any more.
func (g *NATPMP) Close() {
	g.conn.Close()
	<-g.done
}

func (g *NATPMP) answer(req []byte) []byte {
	if len(req) < 2 {
		return nil
	}
	r := NATPMPRequest{Version: req[0], Op: req[1], Raw: append([]byte(nil), req...)}
	if len(req) >= 12 {
		r.Internal = binary.BigEndian.Uint16(req[4:6])
		r.External = binary.BigEndian.Uint16(req[6:8])
		r.Lifetime = binary.BigEndian.Uint32(req[8:12])
	}
	g.Requests <- r
	if g.reply != nil {
		return g.reply(req)
	}
	if r.Version != 0 {
		return nil
	}
	switch {
	case r.Op == 0:
		return []byte{0, 128, 0, 0, 0, 0, 0, 1, 198, 51, 100, 9}
	case (r.Op == 1 || r.Op == 2) && len(req) == 12:
		b := make([]byte, 16)
		b[1] = 128 + r.Op
		binary.BigEndian.PutUint32(b[4:8], 1)
		binary.BigEndian.PutUint16(b[8:10], r.Internal)
		ext := r.Internal + 1000
		if r.Lifetime == 0 {
			ext = 0
		}
		binary.BigEndian.PutUint16(b[10:12], ext)
		binary.BigEndian.PutUint32(b[12:16], r.Lifetime)
		return b
	}
	return nil
}

// Next returns the next request the fake received.
func (g *NATPMP) Next(t testing.TB) NATPMPRequest {
	t.Helper()
	select {
	case r := <-g.Requests:
		return r
	case <-time.After(wait):
		t.Fatal("no NAT-PMP request in time")
		return NATPMPRequest{}
	}
}

// Addr is the IGD's HTTP host:port.
func (g *IGD) Addr() string { return g.srv.Listener.Addr().String() }

// PCPOnly answers as a gateway that speaks only PCP (RFC 6887) on the
// NAT-PMP port: NAT-PMP requests get UNSUPP_VERSION in PCP's version; MAP
// requests are granted from ip, at the internal port plus 2000, for the
// lifetime asked (a lifetime of 0 deletes).
func PCPOnly(ip [4]byte) func(req []byte) []byte {
	return func(req []byte) []byte {
		if len(req) < 2 {
			return nil
		}
		if req[0] != 2 {
			return []byte{2, 0x80 | req[1], 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		}
		if len(req) != 60 || req[1] != 1 {
			return []byte{2, 0x80 | req[1], 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		}
		b := make([]byte, 60)
		b[0], b[1] = 2, 0x81
		copy(b[4:8], req[4:8]) // the lifetime asked
		binary.BigEndian.PutUint32(b[8:12], 1)
		copy(b[24:42], req[24:42]) // nonce, protocol, internal port
		if lifetime := binary.BigEndian.Uint32(req[4:8]); lifetime != 0 {
			binary.BigEndian.PutUint16(b[42:44], binary.BigEndian.Uint16(req[40:42])+2000)
		}
		mapped := netip.AddrFrom4(ip).As16()
		copy(b[44:60], mapped[:])
		return b
	}
}
