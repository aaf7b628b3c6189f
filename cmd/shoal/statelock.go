package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// stateLockName is the file in a state directory that get and seed lock:
// two processes on one directory would write the same resume files and
// routing table.
const stateLockName = "shoal.lock"

// lockStateDir takes the state directory for this process, or says which
// process has it. The lock is an flock, so it dies with its process (even
// on kill -9); the file holds the owner's pid for the next one to name.
// release removes the file and drops the lock.
func lockStateDir(stateDir string) (release func(), err error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(stateDir, stateLockName)
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock the state directory: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			holder := lockHolder(f)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("state directory %s is in use by another shoal%s; stop it, or give this one its own --state-dir", stateDir, holder)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The owner before us removes the file as it lets go: if it did
		// so between our open and our lock, we hold a lock on a file
		// nobody else will open, so start again on the new one.
		var held, named unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) != nil || unix.Stat(path, &named) != nil || held.Ino != named.Ino || held.Dev != named.Dev {
			f.Close()
			continue
		}
		if err := f.Truncate(0); err == nil {
			_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return func() {
			os.Remove(path)
			f.Close()
		}, nil
	}
	return nil, fmt.Errorf("lock %s: it keeps being replaced", path)
}

// lockHolder reads the pid the lock's owner wrote, as " (pid N)", or
// nothing when it has not written it yet.
func lockHolder(f *os.File) string {
	b, _ := io.ReadAll(io.LimitReader(f, 32))
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (pid %d)", pid)
}
