package main

import (
	"os/exec"
	"testing"
	"time"
)

// fakeLeecher runs a shell script that speaks the bench-peer contract's
// lines as a leecher, until it has said done.
func fakeLeecher(t *testing.T, script string) *leecher {
	t.Helper()
	im := peerImpl{label: "fake", argv: []string{"/bin/sh"}}
	l, err := startLeecher(im, exec.Command("/bin/sh", "-c", script), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.stop() })
	if err := l.await(time.Minute); err != nil {
		t.Fatal(err)
	}
	return l
}

// The timed window opens at the listening line, so a peer's start-up
// (an interpreter importing its library) is reported apart and not in
// the wall time.
func TestLeecherWindowOpensAtListening(t *testing.T) {
	const startup = 300 * time.Millisecond
	l := fakeLeecher(t, "sleep 0.3; echo 'listening 1'; echo done; read x")
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
	l := fakeLeecher(t, "sleep 0.3; echo done; read x")
	if !l.listening.at.Equal(l.spawned.at) {
		t.Errorf("window opened at %v, want the start of the process %v", l.listening.at, l.spawned.at)
	}
	if got := l.done.at.Sub(l.listening.at); got < 300*time.Millisecond {
		t.Errorf("window %v, want at least the script's 300ms", got)
	}
}
