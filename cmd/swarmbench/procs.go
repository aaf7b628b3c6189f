// The bench's peer processes: starting and stopping them, the lines
// that open and close a timed window, and what /proc says of them.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startSeeder starts a seeder and waits until it serves.
func startSeeder(im impl, tor, src string) (*exec.Cmd, int, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	cmd := im.seeder(tor, src, port)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if im.ready(sc.Text()) {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, port, nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, 0, errors.New("seeder exited before it was ready")
}

func stopSeeder(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// leecher is a running leecher process and what it has printed.
type leecher struct {
	cmd       *exec.Cmd
	spawned   mark          // the start of its process
	listening mark          // its listening line: the timed window opens
	done      mark          // its done line: the window closes
	exited    chan struct{} // closed once it has exited; then waitErr is set
	waitErr   error
}

// mark is a line a leecher printed: when it was read and the CPU time
// (user + system) of the leecher and of its seeder at that moment. at
// and the CPU times are set before seen is closed.
type mark struct {
	seen         chan struct{}
	at           time.Time
	cpu, peerCPU time.Duration
}

func (m *mark) set(pid, peerPID int) {
	m.at = time.Now()
	if pid > 0 {
		m.cpu = procCPU(pid)
	}
	if peerPID > 0 {
		m.peerCPU = procCPU(peerPID)
	}
	close(m.seen)
}

// startLeecher starts cmd and watches its stdout for im's listening and
// done lines, sampling its CPU time and that of seederPID (0: none) at
// each. A client that says done without a listening line first has its
// window open at the start of its process.
func startLeecher(im impl, cmd *exec.Cmd, seederPID int) (*leecher, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	l := &leecher{cmd: cmd, spawned: mark{seen: make(chan struct{})}, listening: mark{seen: make(chan struct{})},
		done: mark{seen: make(chan struct{})}, exited: make(chan struct{})}
	l.spawned.set(0, seederPID) // the leecher's own CPU is 0 before it runs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		listening, done := false, false
		for sc.Scan() {
			line := sc.Text()
			if !listening && im.listening(line) {
				listening = true
				l.listening.set(cmd.Process.Pid, seederPID)
			}
			if !listening && im.done(line) {
				listening = true
				l.listening.at, l.listening.peerCPU = l.spawned.at, l.spawned.peerCPU
				close(l.listening.seen)
			}
			if !done && im.done(line) {
				done = true
				l.done.set(cmd.Process.Pid, seederPID)
			}
		}
		l.waitErr = cmd.Wait() // after stdout is read to its end, as StdoutPipe requires
		close(l.exited)
	}()
	return l, nil
}

// await waits for the done line for up to timeout; a leecher that exits
// first or takes longer is an error (and is killed).
func (l *leecher) await(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-l.done.seen:
		return nil
	case <-l.exited:
		select {
		case <-l.done.seen: // said done, then exited: done all the same
			return nil
		default:
		}
		return fmt.Errorf("exited before it was done: %v", l.waitErr)
	case <-t.C:
		l.cmd.Process.Kill()
		<-l.exited
		return fmt.Errorf("not done after %s", timeout)
	}
}

// stop ends a leecher that keeps seeding with SIGINT, as the contract
// says, and waits for its exit.
func (l *leecher) stop() error {
	l.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-l.exited:
		return l.waitErr
	case <-time.After(10 * time.Second):
		l.cmd.Process.Kill()
		<-l.exited
		return errors.New("still running 10 s after SIGINT")
	}
}

// procCPU is a process's user+system time so far, from /proc.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// loadAvg says the machine's load averages, printed beside the figures:
// on a shared machine they say how far to trust the absolute times.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average: unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "load average: unknown"
	}
	return fmt.Sprintf("load average (1, 5, 15 min): %s %s %s", f[0], f[1], f[2])
}

// procAnon is a process's resident anonymous memory, from /proc.
func procAnon(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "RssAnon:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
