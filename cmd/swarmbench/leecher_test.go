package main

import (
	"os/exec"
	"testing"
	"time"
)

// fakePeer speaks the bench-peer contract's lines from a shell script.
func fakePeer(script string) (peerImpl, *exec.Cmd) {
	return peerImpl{label: "fake", argv: []string{"/bin/sh"}}, exec.Command("/bin/sh", "-c", script)
}

// The timed window opens at the listening line, so a peer's start-up
// (an interpreter importing its library) is reported apart and not in
// the wall time.
func TestLeecherWindowOpensAtListening(t *testing.T) {
	const startup = 300 * time.Millisecond
	im, cmd := fakePeer("sleep 0.3; echo 'listening 1'; echo done; read x")
	l, err := startLeecher(im, cmd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.await(time.Minute); err != nil {
		t.Fatal(err)
	}
	defer l.stop()
	if got := l.listening.at.Sub(l.spawned.at); got < startup {
		t.Errorf("listening line %v after the start, want at least the script's %v of start-up", got, startup)
	}
	if l.done.at.Before(l.listening.at) {
		t.Errorf("done at %v, before listening at %v", l.done.at, l.listening.at)
	}
}

// A peer that says done without a listening line is timed from the
// start of its process, not from its done line (which would be 0).
func TestLeecherWithoutListeningTimedFromStart(t *testing.T) {
	im, cmd := fakePeer("sleep 0.3; echo done; read x")
	l, err := startLeecher(im, cmd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.await(time.Minute); err != nil {
		t.Fatal(err)
	}
	defer l.stop()
	if !l.listening.at.Equal(l.spawned.at) {
		t.Errorf("window opened at %v, want the start of the process %v", l.listening.at, l.spawned.at)
	}
	if got := l.done.at.Sub(l.listening.at); got < 300*time.Millisecond {
		t.Errorf("window %v, want at least the script's 300ms", got)
	}
}
