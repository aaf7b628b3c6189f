package portmap

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// errTooLarge is what reading a body past the limit gives.
var errTooLarge = errors.New("answer too large")

// boundedHTTP is a client for talking to a gateway: no proxy (the gateway
// is on the LAN), no redirects, no keep-alive, a deadline on everything,
// headers and bodies bounded. goupnp reads SOAP answers to the end, so
// the bound has to be in the client.
func boundedHTTP(timeout time.Duration, maxBody int64) *http.Client {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            (&net.Dialer{Timeout: timeout}).DialContext,
		DisableKeepAlives:      true,
		ResponseHeaderTimeout:  2 * timeout, // the context's deadline comes first
		MaxResponseHeaderBytes: 16 << 10,
		DisableCompression:     true,
	}
	return &http.Client{
		// Every request has a context deadline of timeout; this is the
		// backstop, later, so the context's expiry is what callers see.
		Timeout:       2 * timeout,
		Transport:     limitedBodies{rt: tr, max: maxBody},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// limitedBodies cuts every response body at max bytes, with an error
// rather than a silent truncation so a decoder cannot take half an answer
// for a whole one.
type limitedBodies struct {
	rt  http.RoundTripper
	max int64
}

func (l limitedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > l.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errTooLarge, resp.ContentLength, l.max)
	}
	resp.Body = &cappedBody{rc: resp.Body, left: l.max}
	return resp, nil
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := c.rc.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }
