package rpc

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeRequest feeds hostile bodies to the decoder and the id
// parser: nothing may panic, and a decoded request always has a method
// and object arguments.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"method":"torrent-get","arguments":{"fields":["id"],"ids":[1,"` + "0123456789abcdef0123456789abcdef01234567" + `"]},"tag":3}`,
		`{"method":"torrent-stop","arguments":{"ids":"recently-active"}}`,
		`{"method":"x","arguments":[1]}`, `{"method":"x","tag":1.5}`, `{}`, `null`, `{"method":"a"} {}`,
		`{"method":"torrent-get","arguments":{"ids":[1e400]}}`, `{"method":"torrent-get","arguments":{"ids":18446744073709551617}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRequest(body)
		if err != nil {
			return
		}
		if req.Method == "" || req.Arguments[0] != '{' && string(req.Arguments) != "{}" {
			t.Fatalf("accepted %q as %+v", body, req)
		}
		var a idsArgs
		if json.Unmarshal(req.Arguments, &a) == nil {
			for _, n := range a.IDs.nums {
				if n < 0 {
					t.Fatalf("negative id from %q", body)
				}
			}
			for _, h := range a.IDs.hashes {
				if len(h) != 40 {
					t.Fatalf("hash %q from %q", h, body)
				}
			}
		}
	})
}
