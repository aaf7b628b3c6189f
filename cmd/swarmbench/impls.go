package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
)

// impl starts seeders and leechers of one implementation.
type impl interface {
	name() string
	seeder(tor, dir string, port int) *exec.Cmd
	leecher(tor, dir string, port int, peers []string, state string) *exec.Cmd
	// ready reports the line a seeder prints once it serves.
	ready(line string) bool
	// listening reports the line a leecher prints once it is set up and
	// has been given its peers: the timed window opens there.
	listening(line string) bool
	// done reports the line a leecher prints once it has everything; it
	// keeps seeding after that until SIGINT.
	done(line string) bool
}

// shoalImpl runs shoal over TCP alone, or with utp as it runs by
// default: its dials then go over uTP first, which on loopback connect.
// Either way it dials plain (--encryption tolerated), as the other
// clients here do; its default would pick RC4 between two shoals.
type shoalImpl struct {
	bin string
	utp bool
}

func (s shoalImpl) name() string {
	if s.utp {
		return "shoal-utp"
	}
	return "shoal"
}
func (s shoalImpl) transport() []string {
	if s.utp {
		return []string{"--encryption", "tolerated"}
	}
	return []string{"--no-utp", "--encryption", "tolerated"}
}
func (s shoalImpl) seeder(tor, dir string, port int) *exec.Cmd {
	args := []string{"seed", tor, "--dir", dir, "--port", strconv.Itoa(port), "--json", "--state-dir", filepath.Join(dir, ".state"), "--max-peers", "200", "--no-dht", "--no-port-forwarding"}
	return exec.Command(s.bin, append(args, s.transport()...)...)
}
func (s shoalImpl) leecher(tor, dir string, port int, peers []string, state string) *exec.Cmd {
	// No --no-seed: like the other clients it seeds once done, so
	// leechers of a swarm trade with each other, until SIGINT.
	args := []string{"get", tor, "--dir", dir, "--port", strconv.Itoa(port), "--json", "--state-dir", state, "--no-dht", "--no-port-forwarding"}
	for _, p := range peers {
		args = append(args, "--peer", p)
	}
	return exec.Command(s.bin, append(args, s.transport()...)...)
}
func (shoalImpl) ready(line string) bool {
	var ev struct{ Event, State string }
	return json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "progress" && ev.State == "seeding"
}
func (shoalImpl) listening(line string) bool {
	var ev struct{ Event string }
	return json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "listening"
}
func (shoalImpl) done(line string) bool {
	var ev struct{ Event string }
	return json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "complete"
}

// anacrolixImpl runs anacrolix v1.59.1's client (bin/anacrolix-peer) over
// TCP, or with utp over uTP alone.
type anacrolixImpl struct {
	bin string
	utp bool
}

func (a anacrolixImpl) peer() peerImpl {
	p := peerImpl{label: "anacrolix-v1.59.1", argv: []string{a.bin}, utp: a.utp}
	if a.utp {
		p.label = "anacrolix-v1.59.1-utp"
	}
	return p
}
func (a anacrolixImpl) name() string { return a.peer().name() }
func (a anacrolixImpl) seeder(tor, dir string, port int) *exec.Cmd {
	return a.peer().seeder(tor, dir, port)
}
func (a anacrolixImpl) leecher(tor, dir string, port int, peers []string, state string) *exec.Cmd {
	return a.peer().leecher(tor, dir, port, peers, state)
}
func (a anacrolixImpl) ready(line string) bool     { return a.peer().ready(line) }
func (a anacrolixImpl) listening(line string) bool { return a.peer().listening(line) }
func (a anacrolixImpl) done(line string) bool      { return a.peer().done(line) }
