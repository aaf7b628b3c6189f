package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// output collects what a process prints and wakes whoever waits on it.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// tail is the last n lines, for failure messages.
func (o *output) tail(n int) string {
	lines := strings.Split(strings.TrimRight(o.String(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// match returns re's submatches in what was printed so far, and the
// channel that fires on the next write.
func (o *output) match(re *regexp.Regexp) ([]string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return re.FindStringSubmatch(o.buf.String()), o.changed
}

// errStopped says a process a wait depended on ended first.
var errStopped = errors.New("ended")

// await waits until re matches o. It gives up at the deadline, or as soon
// as one of the ended channels closes (checked every 20 ms, and once more
// after a match could no longer come).
func (o *output) await(re *regexp.Regexp, deadline time.Time, ended ...<-chan struct{}) ([]string, error) {
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		m, changed := o.match(re)
		if m != nil {
			return m, nil
		}
		for _, e := range ended {
			select {
			case <-e:
				if m, _ := o.match(re); m != nil {
					return m, nil
				}
				return nil, errStopped
			default:
			}
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-timer.C:
			return nil, fmt.Errorf("no %q within the deadline", re)
		}
	}
}

// proc is a shoal process the test started.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *output
	done chan struct{}
	code int // once done
	port string
}

var listeningRe = regexp.MustCompile(`listening on port (\d+)`)

// startProc runs bin with args until the test ends, lowers its limit on
// open files to nofile when that is not 0, and waits for it to say which
// port it listens on.
func startProc(t *testing.T, name, bin string, nofile uint64, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: newOutput(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s (%s) printed:\n%s", p.name, strings.Join(args, " "), p.out.tail(40))
		}
	})
	if nofile > 0 {
		// Lowering the hard limit too keeps the Go runtime from raising the
		// soft one back, whichever of us comes first.
		lim := unix.Rlimit{Cur: nofile, Max: nofile}
		if err := unix.Prlimit(p.cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
			t.Fatalf("limit %s to %d open files: %v", name, nofile, err)
		}
	}
	m, err := p.out.await(listeningRe, time.Now().Add(30*time.Second), p.done)
	if err != nil {
		t.Fatalf("%s never said where it listens (%v; exit %d)", name, err, p.code)
	}
	p.port = m[1]
	return p
}

func (p *proc) addr() string { return "127.0.0.1:" + p.port }

// peakMemory is the process's peak resident set in bytes (VmHWM), -1
// when unknown: an attack that makes memory grow shows there.
func (p *proc) peakMemory() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil || p.exited() {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
				return kb << 10
			}
		}
	}
	return -1
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

var crashRe = regexp.MustCompile(`(?m)^(panic: |fatal error: |WARNING: DATA RACE)`)

// noCrash fails the test if p printed a panic, a fatal runtime error or a
// data race.
func (p *proc) noCrash(t *testing.T) {
	t.Helper()
	if m := crashRe.FindString(p.out.String()); m != "" {
		t.Errorf("%s printed %q", p.name, m)
	}
}

// interrupt is Ctrl-C; it returns the exit status.
func (p *proc) interrupt(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		return p.code
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s of Ctrl-C", p.name)
		return -1
	}
}

// attackRun is shoal-attack running in this process, as the command line
// would run it.
type attackRun struct {
	args   []string
	out    *output
	done   chan struct{}
	code   int
	cancel context.CancelFunc
}

func startAttack(t *testing.T, args ...string) *attackRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &attackRun{args: args, out: newOutput(), done: make(chan struct{}), cancel: cancel}
	go func() {
		a.code = run(ctx, args, a.out, a.out)
		close(a.done)
	}()
	t.Cleanup(func() {
		a.cancel()
		<-a.done
		if t.Failed() {
			t.Logf("shoal-attack %s printed:\n%s", strings.Join(args, " "), a.out.tail(40))
		}
	})
	return a
}

var readyRe = regexp.MustCompile(`(?m)^ready$`)

// awaitReady waits until the attack is in place, or over. A victim that
// exits meanwhile fails the test.
func (a *attackRun) awaitReady(t *testing.T, victim *proc) {
	t.Helper()
	_, err := a.out.await(readyRe, time.Now().Add(30*time.Second), a.done, victim.done)
	switch {
	case victim.exited():
		t.Fatalf("%s exited with status %d under attack", victim.name, victim.code)
	case err == nil:
	case errors.Is(err, errStopped) && a.code == 0:
		// over before it said ready: nothing left to wait for
	case errors.Is(err, errStopped):
		t.Fatalf("shoal-attack exited with status %d before it was in place", a.code)
	default:
		t.Fatalf("shoal-attack never got in place: %v", err)
	}
}

// stop ends the attack like Ctrl-C and returns its exit status.
func (a *attackRun) stop(t *testing.T) int {
	t.Helper()
	a.cancel()
	select {
	case <-a.done:
		return a.code
	case <-time.After(30 * time.Second):
		t.Fatal("shoal-attack did not stop within 30 s of being cancelled")
		return -1
	}
}
