package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/tui"
)

// The control socket lets `shoal watch` attach to a running get or seed:
// one JSON request per line, one JSON answer per line. It is a Unix
// socket that only its owner may open.

type controlRequest struct {
	Op       string `json:"op"` // items, pause, resume, priority, remove, limits, add, requeue
	Index    int    `json:"index,omitempty"`
	File     int    `json:"file,omitempty"`
	Priority string `json:"priority,omitempty"`
	Down     int64  `json:"down,omitempty"`
	Up       int64  `json:"up,omitempty"`
	Delete   bool   `json:"delete,omitempty"` // remove: the files too
	Source   string `json:"source,omitempty"` // add: a magnet link or an absolute path
	Delta    int    `json:"delta,omitempty"`  // requeue: places to move
}

type controlReply struct {
	Items []tui.Item `json:"items,omitempty"`
	Down  int64      `json:"down,omitempty"`
	Up    int64      `json:"up,omitempty"`
	Error string     `json:"error,omitempty"`
}

// maxSocketPath is the longest path a Unix socket binds to on Linux:
// sun_path holds 108 bytes, the last a NUL.
const maxSocketPath = 107

// controlPath names the socket of the process listening on port: in the
// state directory when that path fits a socket, else in a private runtime
// directory under a name derived from the state directory, where
// findControl looks too.
func controlPath(stateDir string, port uint16) string {
	p := filepath.Join(stateDir, fmt.Sprintf("shoal-%d.sock", port))
	if len(p) <= maxSocketPath {
		return p
	}
	name := fmt.Sprintf("%s-%d.sock", stateKey(stateDir), port)
	dirs := controlRuntimeDirs()
	for _, d := range dirs {
		if p := filepath.Join(d, name); len(p) <= maxSocketPath {
			return p
		}
	}
	return filepath.Join(dirs[len(dirs)-1], name)
}

// controlRuntimeDirs are where sockets go when the state directory's path
// is too long, best first: the per-user runtime directory, then a
// per-user directory in the temporary one.
func controlRuntimeDirs() []string {
	var dirs []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		dirs = append(dirs, filepath.Join(d, "shoal"))
	}
	user := fmt.Sprintf("shoal-%d", os.Getuid())
	dirs = append(dirs, filepath.Join(os.TempDir(), user))
	if os.TempDir() != "/tmp" {
		dirs = append(dirs, filepath.Join("/tmp", user))
	}
	return dirs
}

// stateKey names a state directory in a socket name: short, and the same
// for every spelling of the path.
func stateKey(stateDir string) string {
	if abs, err := filepath.Abs(stateDir); err == nil {
		stateDir = abs
	}
	h := sha256.Sum256([]byte(stateDir))
	return hex.EncodeToString(h[:8])
}

// privateDir checks that nobody else can plant a socket in dir, which
// matters in a shared temporary directory.
func privateDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s is not a directory only this user can write to", dir)
	}
	return nil
}

// startControl serves shoal watch for a running command. The socket is a
// convenience: when it cannot be made, the command warns and goes on.
func startControl(r *reporter, stateDir string, port uint16, eng tui.Engine) (stop func()) {
	path := controlPath(stateDir, port)
	stop, err := serveControl(path, eng)
	if err != nil {
		r.event("warning", map[string]any{"error": err.Error()},
			fmt.Sprintf("warning: %v; shoal watch cannot attach to this process", err))
		return func() {}
	}
	return stop
}

// serveControl listens on path until the returned closer is called.
func serveControl(path string, eng tui.Engine) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if slices.Contains(controlRuntimeDirs(), filepath.Dir(path)) {
		if err := privateDir(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another shoal is using %s", path)
	}
	os.Remove(path) // stale, from a process that died
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveControlConn(c, eng)
			}()
		}
	}()
	return func() { ln.Close(); os.Remove(path); wg.Wait() }, nil
}

func serveControlConn(c net.Conn, eng tui.Engine) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), 1<<16)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req controlRequest
		var rep controlReply
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			rep.Error = "bad request"
		} else {
			switch req.Op {
			case "items":
				rep.Items = eng.Items()
				rep.Down, rep.Up = eng.Limits()
			case "remove":
				rep.Error = errText(eng.Remove(req.Index, req.Delete))
			case "add":
				rep.Error = errText(eng.Add(req.Source))
			case "requeue":
				rep.Error = errText(eng.Requeue(req.Index, req.Delta))
			case "limits":
				eng.SetLimits(req.Down, req.Up)
			case "pause":
				eng.Pause(req.Index)
			case "resume":
				eng.Resume(req.Index)
			case "priority":
				eng.SetFilePriority(req.Index, req.File, req.Priority)
			default:
				rep.Error = "unknown op"
			}
		}
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if enc.Encode(rep) != nil {
			return
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// remoteEngine is tui.Engine over a control socket. Pause, resume,
// priorities and limits go through a queue to one sender, in order, so
// the UI never waits on a slow or stuck process; add, remove and requeue
// are sent at once (the UI runs them off its goroutine) and answer.
type remoteEngine struct {
	mu    sync.Mutex // guards the connection: one request at a time
	conn  net.Conn
	rd    *bufio.Reader
	queue chan controlRequest

	// Read by the UI's goroutine, so never held across a request.
	stateMu  sync.Mutex
	last     []tui.Item
	down, up int64
}

// remoteQueue bounds the commands waiting for a stuck process; beyond it
// a key press is dropped rather than freezing the UI.
const remoteQueue = 64

func dialControl(path string) (*remoteEngine, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("cannot attach to %s: %s (is shoal get or seed running? without --socket, shoal watch finds it)", path, netWords(err))
	}
	return newRemoteEngine(c, bufio.NewReaderSize(c, 1<<20)), nil
}

func newRemoteEngine(c net.Conn, rd *bufio.Reader) *remoteEngine {
	r := &remoteEngine{conn: c, rd: rd, queue: make(chan controlRequest, remoteQueue)}
	go func() {
		for req := range r.queue {
			r.call(req)
		}
	}()
	return r
}

// send queues a command that needs no answer.
func (r *remoteEngine) send(req controlRequest) {
	select {
	case r.queue <- req:
	default:
	}
}

func (r *remoteEngine) call(req controlRequest) (controlReply, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rep controlReply
	r.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(r.conn).Encode(req); err != nil {
		return rep, err
	}
	line, err := r.rd.ReadBytes('\n')
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(line, &rep); err != nil {
		return rep, err
	}
	if rep.Error != "" {
		return rep, errors.New(rep.Error)
	}
	return rep, nil
}

// Items keeps showing the last state if the engine stops answering.
func (r *remoteEngine) Items() []tui.Item {
	rep, err := r.call(controlRequest{Op: "items"})
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	if err != nil {
		return r.last
	}
	r.last, r.down, r.up = rep.Items, rep.Down, rep.Up
	return rep.Items
}

func (r *remoteEngine) Remove(i int, deleteData bool) error {
	_, err := r.call(controlRequest{Op: "remove", Index: i, Delete: deleteData})
	return err
}

// Add sends a path made absolute here: the process it attaches to may
// run from another directory.
func (r *remoteEngine) Add(src string) error {
	if !meta.IsMagnet(src) {
		abs, err := filepath.Abs(src)
		if err != nil {
			return err
		}
		src = abs
	}
	_, err := r.call(controlRequest{Op: "add", Source: src})
	return err
}

func (r *remoteEngine) Requeue(i, delta int) error {
	_, err := r.call(controlRequest{Op: "requeue", Index: i, Delta: delta})
	if err != nil && err.Error() == tui.ErrQueueEnd.Error() {
		return tui.ErrQueueEnd // crossed the socket as text
	}
	return err
}

func (r *remoteEngine) Limits() (int64, int64) {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	return r.down, r.up
}

func (r *remoteEngine) SetLimits(down, up int64) {
	r.send(controlRequest{Op: "limits", Down: down, Up: up})
}

func (r *remoteEngine) Pause(i int)  { r.send(controlRequest{Op: "pause", Index: i}) }
func (r *remoteEngine) Resume(i int) { r.send(controlRequest{Op: "resume", Index: i}) }
func (r *remoteEngine) SetFilePriority(i, f int, p string) {
	r.send(controlRequest{Op: "priority", Index: i, File: f, Priority: p})
}

// findControl picks the one socket of a process using stateDir, or says
// which exist. It looks where controlPath puts them: in stateDir, and in
// the runtime directories under stateDir's key.
func findControl(stateDir string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(stateDir, "shoal-*.sock"))
	for _, d := range controlRuntimeDirs() {
		more, _ := filepath.Glob(filepath.Join(d, stateKey(stateDir)+"-*.sock"))
		matches = append(matches, more...)
	}
	var live []string
	for _, m := range matches {
		if c, err := net.Dial("unix", m); err == nil {
			c.Close()
			live = append(live, m)
		}
	}
	switch len(live) {
	case 0:
		return "", fmt.Errorf("no running shoal get or seed found in %s (start one, or name its socket with --socket)", stateDir)
	case 1:
		return live[0], nil
	}
	return "", fmt.Errorf("%d shoal processes are running on %s; choose one with --socket %s", len(live), stateDir, joinWords(live))
}
