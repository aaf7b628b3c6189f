// Package rpc speaks Transmission's RPC protocol (docs/rpc-spec.md in
// Transmission's tree) over a shoal daemon, so transmission-remote, Sonarr,
// FlexGet and the many scripts written for Transmission drive shoal too.
// shoal's own remote commands use it through Client.
package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// request is one RPC call.
type request struct {
	Method    string          `json:"method"`
	Arguments json.RawMessage `json:"arguments"`
	// Tag is echoed as given: transmission-remote picks the printer for
	// an answer by it.
	Tag json.RawMessage `json:"tag,omitempty"`
}

// response is one RPC answer.
type response struct {
	Result    string          `json:"result"`
	Arguments any             `json:"arguments"`
	Tag       json.RawMessage `json:"tag,omitempty"`
}

var integerTag = regexp.MustCompile(`^-?[0-9]{1,18}$`)

// decodeRequest parses a request body; every error is one line fit for a
// result string.
func decodeRequest(body []byte) (request, error) {
	var req request
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return request{}, fmt.Errorf("invalid request: %s", oneLine(err))
	}
	if dec.More() {
		return request{}, errors.New("invalid request: trailing data after the JSON object")
	}
	if req.Method == "" {
		return request{}, errors.New("invalid request: no method")
	}
	if len(req.Tag) > 0 && !integerTag.Match(req.Tag) {
		return request{}, errors.New("invalid request: tag must be an integer")
	}
	if a := bytes.TrimSpace(req.Arguments); len(a) == 0 || string(a) == "null" {
		req.Arguments = json.RawMessage("{}")
	} else if a[0] != '{' {
		return request{}, errors.New("invalid request: arguments must be an object")
	}
	return req, nil
}

// decodeArgs fills v from a request's arguments.
func decodeArgs(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("invalid arguments: %s", oneLine(err))
	}
	return nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// idSelector is the "ids" argument: absent (every torrent), a number, a
// hash string, "recently-active", or a list of numbers and hash strings.
type idSelector struct {
	set            bool
	recentlyActive bool
	nums           []int
	hashes         []string
}

// maxIDs bounds one request's id list.
const maxIDs = 100000

var hashRe = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

func (s *idSelector) UnmarshalJSON(b []byte) error {
	*s = idSelector{set: true}
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		s.set = false
		return nil
	case len(b) > 0 && b[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		if len(items) > maxIDs {
			return fmt.Errorf("ids: more than %d", maxIDs)
		}
		for _, it := range items {
			if err := s.one(it, false); err != nil {
				return err
			}
		}
		return nil
	}
	return s.one(b, true)
}

func (s *idSelector) one(b json.RawMessage, top bool) error {
	var n json.Number
	if len(b) > 0 && b[0] != '"' && json.Unmarshal(b, &n) == nil {
		i, err := n.Int64()
		if err != nil || i < 0 || i > 1<<31 {
			return fmt.Errorf("ids: %s is not a torrent id", n)
		}
		s.nums = append(s.nums, int(i))
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return errors.New("ids: want numbers or hash strings")
	}
	switch {
	case top && str == "recently-active":
		s.recentlyActive = true
	case hashRe.MatchString(str):
		s.hashes = append(s.hashes, strings.ToLower(str))
	default:
		return fmt.Errorf("ids: %q is neither a torrent id nor a 40-digit info hash", truncate(str, 60))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
