package portmap

import (
	"github.com/shoal-torrent/shoal/portmap/portmaptest"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzSSDPAnswer: any datagram parses or is refused, without a panic.
func FuzzSSDPAnswer(f *testing.F) {
	f.Add(portmaptest.SSDPAnswer("http://127.0.0.1:5000/rootDesc.xml"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n"))
	req, _ := http.NewRequest("M-SEARCH", "*", nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 2048 {
			return // the socket read cuts datagrams there
		}
		if resp, err := readSSDPAnswer(b, req); err == nil && resp.StatusCode != 200 {
			t.Fatalf("status %d accepted", resp.StatusCode)
		}
	})
}

// FuzzRootDescription: any description decodes to clients on the
// gateway's own host, or to an error.
func FuzzRootDescription(f *testing.F) {
	f.Add(portmaptest.RootXML)
	f.Add(strings.Replace(portmaptest.RootXML, "<specVersion>", "<URLBase>http://203.0.113.1:80/</URLBase><specVersion>", 1))
	f.Add(strings.Replace(portmaptest.RootXML, "/ctl/IPConn", "http://203.0.113.1/ctl", 1))
	loc, _ := url.Parse("http://192.168.1.1:5000/rootDesc.xml")
	f.Fuzz(func(t *testing.T, s string) {
		root, err := decodeRoot(strings.NewReader(s), loc)
		if err != nil {
			return
		}
		c, err := wanClient(root, loc)
		if err != nil {
			return
		}
		if u := c.GetServiceClient().SOAPClient.EndpointURL; u.Host != loc.Host {
			t.Fatalf("control URL %v is off the gateway", u.String())
		}
	})
}
