package rpc

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoal-torrent/shoal/daemon"
)

// Engine is what the RPC needs from the daemon.
type Engine interface {
	Add(daemon.AddRequest) (daemon.Status, bool, error)
	Torrents(ids []int, detail bool) ([]daemon.Status, error)
	Start(ids []int) error
	Stop(ids []int) error
	Verify(ids []int) error
	Remove(ids []int, deleteData bool) error
	Set(ids []int, s daemon.Settings) error
	Relocate(ids []int, dir string, move bool) error
	Session() (daemon.SessionInfo, error)
	SetSession(daemon.SessionSettings) error
	Stats() (daemon.Stats, error)
}

// Path is where Transmission's clients send requests.
const Path = "/transmission/rpc"

// SessionIDHeader carries the CSRF token of the 409 handshake.
const SessionIDHeader = "X-Transmission-Session-Id"

// DefaultMaxBody bounds a request: room for a large torrent's metainfo
// in base64, and no more.
const DefaultMaxBody = 16 << 20

// Config configures a Server.
type Config struct {
	Engine Engine
	// User and Password, when User is set, are required by HTTP basic
	// auth.
	User, Password string
	// AuthLimits throttle wrong passwords per remote address; the zero
	// value means DefaultAuthLimits.
	AuthLimits AuthLimits
	// AllowedHosts are host names the Host header may carry besides IP
	// literals and localhost, against DNS rebinding; "*" allows any.
	AllowedHosts []string
	// MaxBody bounds a request body in bytes.
	MaxBody int64
	// Version is shoal's version, reported by session-get.
	Version string
	// Shutdown, when set, is called by session-close.
	Shutdown func()
	// FetchURL fetches a torrent-add filename that is an http(s) URL;
	// nil refuses such filenames.
	FetchURL func(url string) ([]byte, error)
	Logger   *slog.Logger
}

// Validate reports settings the server cannot run with.
func (c *Config) Validate() error {
	if c.Engine == nil {
		return errors.New("rpc: no engine")
	}
	if c.MaxBody < 0 {
		return errors.New("rpc: negative body limit")
	}
	if c.AuthLimits != (AuthLimits{}) {
		return c.AuthLimits.Validate()
	}
	return nil
}

// errAuthLimits is AuthLimits' one refusal.
var errAuthLimits = errors.New("rpc: auth limits want Free >= 0, 0 < Delay <= MaxDelay, Forget > 0 and MaxAddrs >= 1")

// Server answers Transmission RPC requests.
type Server struct {
	cfg       Config
	log       *slog.Logger
	sessionID string
	auth      *authThrottle

	// mu makes session-set's read of the session and its change one
	// step, so two callers cannot lose each other's kept values.
	mu sync.Mutex
}

// NewServer makes a server; serve it with http.Serve or as a handler.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AuthLimits == (AuthLimits{}) {
		cfg.AuthLimits = DefaultAuthLimits()
	}
	id := make([]byte, 24)
	rand.Read(id)
	return &Server{cfg: cfg, log: cfg.Logger, sessionID: base64.RawURLEncoding.EncodeToString(id), auth: newAuthThrottle(cfg.AuthLimits)}, nil
}

// ServeHTTP checks, in Transmission's order, the credentials (401, or
// 429 for an address that guessed wrong too often), the Host header (421)
// and the session id (409), then answers the call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path && r.URL.Path != Path+"/" {
		http.NotFound(w, r)
		return
	}
	if s.cfg.User != "" && !s.authorized(w, r, time.Now()) {
		return
	}
	if !s.hostAllowed(r.Host) {
		http.Error(w, "421: Misdirected Request: this host name is not in the allowed hosts", http.StatusMisdirectedRequest)
		return
	}
	w.Header().Set(SessionIDHeader, s.sessionID)
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(SessionIDHeader)), []byte(s.sessionID)) != 1 {
		http.Error(w, "409: Conflict: resend with the "+SessionIDHeader+" header of this answer", http.StatusConflict)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "405: use POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "413: request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "400: unreadable body", http.StatusBadRequest)
		return
	}
	resp := s.handle(body)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(resp)
}

// authorized checks basic auth, throttled per remote address: a wrong
// password counts against the address it came from, and one that has
// guessed wrong too often is refused without its password being checked
// until its wait is over. A request without credentials counts for
// nothing (browsers and clients ask first, then send them).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	addr, addrErr := netip.ParseAddrPort(r.RemoteAddr)
	if addrErr == nil {
		if wait := s.auth.wait(addr.Addr(), now); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			http.Error(w, "429: Too Many Requests: too many wrong passwords from this address, wait", http.StatusTooManyRequests)
			return false
		}
	}
	u, p, ok := r.BasicAuth()
	if ok && subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.User))&
		subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.Password)) == 1 {
		if addrErr == nil {
			s.auth.succeeded(addr.Addr())
		}
		return true
	}
	if ok && addrErr == nil {
		s.auth.failed(addr.Addr(), now)
		s.log.Warn("rpc: wrong password", "from", addr.Addr())
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="Transmission"`)
	http.Error(w, "401: Unauthorized", http.StatusUnauthorized)
	return false
}

// hostAllowed guards against DNS rebinding: a web page cannot reach the
// RPC through a name it controls that resolves to us.
func (s *Server) hostAllowed(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") || strings.EqualFold(host, "localhost.") {
		return true
	}
	for _, a := range s.cfg.AllowedHosts {
		if a == "*" || strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

// handle answers one request body; nothing in it can fail the server.
func (s *Server) handle(body []byte) response {
	req, err := decodeRequest(body)
	if err != nil {
		return response{Result: err.Error(), Arguments: struct{}{}}
	}
	args, err := s.call(req)
	if err != nil {
		return response{Result: oneLine(err), Arguments: struct{}{}, Tag: req.Tag}
	}
	if args == nil {
		args = struct{}{}
	}
	return response{Result: "success", Arguments: args, Tag: req.Tag}
}

// errUnknownMethod is answered for methods shoal does not speak.
var errUnknownMethod = errors.New("method name not recognized")

func (s *Server) call(req request) (any, error) {
	switch req.Method {
	case "torrent-get":
		return s.torrentGet(req.Arguments)
	case "torrent-add":
		return s.torrentAdd(req.Arguments)
	case "torrent-start", "torrent-start-now":
		return s.onIDs(req.Arguments, s.cfg.Engine.Start)
	case "torrent-stop":
		return s.onIDs(req.Arguments, s.cfg.Engine.Stop)
	case "torrent-verify":
		return s.onIDs(req.Arguments, s.cfg.Engine.Verify)
	case "torrent-remove":
		return s.torrentRemove(req.Arguments)
	case "torrent-set":
		return s.torrentSet(req.Arguments)
	case "torrent-set-location":
		return s.torrentSetLocation(req.Arguments)
	case "session-get":
		return s.sessionGet(req.Arguments)
	case "session-set":
		return s.sessionSet(req.Arguments)
	case "session-stats":
		return s.sessionStats()
	case "session-close":
		if s.cfg.Shutdown == nil {
			return nil, errors.New("session-close is not allowed here")
		}
		go s.cfg.Shutdown()
		return nil, nil
	case "free-space":
		return s.freeSpace(req.Arguments)
	case "port-test":
		return nil, errors.New("port-test is not supported: shoal cannot test its own port from outside")
	}
	return nil, errUnknownMethod
}
