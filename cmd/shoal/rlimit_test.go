package main

import (
	"syscall"
	"testing"
)

func TestRaiseFileLimitReachesTheHardLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// Start from a low soft limit, as a fresh login shell has.
	low := lim
	low.Cur = min(lim.Max, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	got, err := raiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var now syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if got != lim.Max || now.Cur != lim.Max {
		t.Fatalf("soft limit %d (reported %d), want the hard limit %d", now.Cur, got, lim.Max)
	}
}
