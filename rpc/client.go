package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxResponse bounds an answer the client reads.
const maxResponse = 64 << 20

// Client calls a Transmission RPC server: shoal's daemon, or Transmission.
type Client struct {
	// URL is the RPC endpoint, e.g. http://127.0.0.1:9091/transmission/rpc.
	URL            string
	User, Password string
	HTTP           *http.Client

	mu        sync.Mutex
	sessionID string
}

// ErrNoDaemon says nothing answered at the client's URL.
var ErrNoDaemon = errors.New("no daemon answers")

// Call sends method with args and decodes the answer's arguments into
// out (which may be nil). A result other than "success" is the error.
func (c *Client) Call(ctx context.Context, method string, args, out any) error {
	body, err := json.Marshal(map[string]any{"method": method, "arguments": args})
	if err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		c.mu.Lock()
		if c.sessionID != "" {
			req.Header.Set(SessionIDHeader, c.sessionID)
		}
		c.mu.Unlock()
		if c.User != "" {
			req.SetBasicAuth(c.User, c.Password)
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w at %s: %v", ErrNoDaemon, c.URL, errors.Unwrap(err))
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		switch resp.StatusCode {
		case http.StatusConflict:
			if attempt > 0 {
				return errors.New("the daemon keeps refusing the session id")
			}
			c.mu.Lock()
			c.sessionID = resp.Header.Get(SessionIDHeader)
			c.mu.Unlock()
			continue
		case http.StatusUnauthorized:
			return errors.New("the daemon wants a user and password (--auth USER:PASSWORD)")
		case http.StatusOK:
		default:
			return fmt.Errorf("the daemon answered %s", strings.TrimSpace(resp.Status))
		}
		var r struct {
			Result    string          `json:"result"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("unreadable answer: %w", err)
		}
		if r.Result != "success" {
			return errors.New(r.Result)
		}
		if out == nil || len(r.Arguments) == 0 {
			return nil
		}
		if err := json.Unmarshal(r.Arguments, out); err != nil {
			return fmt.Errorf("unreadable answer: %w", err)
		}
		return nil
	}
}
