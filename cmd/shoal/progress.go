package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/term"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// progressBar redraws one line on a terminal while work advances a shared
// counter; it reads the counter, so the workers never wait on the screen.
type progressBar struct {
	w       io.Writer
	label   string
	total   int64
	counter *atomic.Int64
	done    chan struct{}
	stopped chan struct{}
	start   time.Time
}

// startProgress draws a bar for label until stop is called. On a
// non-terminal it draws nothing.
func startProgress(e env, label string, total int64, counter *atomic.Int64) *progressBar {
	p := &progressBar{w: e.stderr, label: label, total: total, counter: counter,
		done: make(chan struct{}), stopped: make(chan struct{}), start: time.Now()}
	if !e.interactive {
		close(p.stopped)
		return p
	}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progressBar) draw() {
	n := p.counter.Load()
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(n)/float64(p.total), 1)
	}
	const width = 30
	filled := int(frac * width)
	rate := float64(n) / max(time.Since(p.start).Seconds(), 0.001)
	fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %3.0f%%  %s / %s  %s/s", p.label,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100,
		humanize.IBytes(uint64(n)), humanize.IBytes(uint64(p.total)), humanize.IBytes(uint64(rate)))
}

// stop erases the bar and returns how long the work took.
func (p *progressBar) stop() time.Duration {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	<-p.stopped
	return time.Since(p.start)
}
