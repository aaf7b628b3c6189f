package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shoal-torrent/shoal/tui"
)

// The control socket lets `shoal watch` attach to a running get or seed:
// one JSON request per line, one JSON answer per line. It is a Unix
// socket that only its owner may open.

type controlRequest struct {
	Op       string `json:"op"` // items, pause, resume, priority, remove, limits
	Index    int    `json:"index,omitempty"`
	File     int    `json:"file,omitempty"`
	Priority string `json:"priority,omitempty"`
	Down     int64  `json:"down,omitempty"`
	Up       int64  `json:"up,omitempty"`
}

type controlReply struct {
	Items []tui.Item `json:"items,omitempty"`
	Down  int64      `json:"down,omitempty"`
	Up    int64      `json:"up,omitempty"`
	Error string     `json:"error,omitempty"`
}

// controlPath names the socket of the process listening on port.
func controlPath(stateDir string, port uint16) string {
	return filepath.Join(stateDir, fmt.Sprintf("shoal-%d.sock", port))
}

// serveControl listens on path until the returned closer is called.
func serveControl(path string, eng tui.Engine) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
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
				eng.Remove(req.Index)
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

// remoteEngine is tui.Engine over a control socket.
type remoteEngine struct {
	mu       sync.Mutex // guards the connection (one request at a time) and the limits
	conn     net.Conn
	rd       *bufio.Reader
	last     []tui.Item
	down, up int64
}

func dialControl(path string) (*remoteEngine, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", path, err)
	}
	return &remoteEngine{conn: c, rd: bufio.NewReaderSize(c, 1<<20)}, nil
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
	if err != nil {
		return r.last
	}
	r.mu.Lock()
	r.last, r.down, r.up = rep.Items, rep.Down, rep.Up
	r.mu.Unlock()
	return rep.Items
}

func (r *remoteEngine) Remove(i int) { r.call(controlRequest{Op: "remove", Index: i}) }

func (r *remoteEngine) Limits() (int64, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down, r.up
}

func (r *remoteEngine) SetLimits(down, up int64) {
	r.call(controlRequest{Op: "limits", Down: down, Up: up})
}

func (r *remoteEngine) Pause(i int)  { r.call(controlRequest{Op: "pause", Index: i}) }
func (r *remoteEngine) Resume(i int) { r.call(controlRequest{Op: "resume", Index: i}) }
func (r *remoteEngine) SetFilePriority(i, f int, p string) {
	r.call(controlRequest{Op: "priority", Index: i, File: f, Priority: p})
}

// findControl picks the one socket in stateDir, or says which exist.
func findControl(stateDir string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(stateDir, "shoal-*.sock"))
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
	return "", fmt.Errorf("several shoal processes are running; choose one with --socket: %v", live)
}
