// Command shoal-attack runs one hostile peer against a running BitTorrent
// client, over the real wire protocol: the attacks of issue 9, so that a
// fix can be checked against a real process and not only a unit test.
//
//	shoal-attack ATTACK -target HOST:PORT -torrent FILE [flags]
//
// It prints "ready" once the attack is in place (the moment to start an
// honest transfer beside it), and "done: ..." with what it saw when it
// ends: when the attack is over, after -duration, or on Ctrl-C. The exit
// status is 1 when the attack could not be run or the target did not do
// what a robust peer must (a garbage peer that is not dropped, say).
// Whether the target survived is for the caller to see: attack_test.go
// runs every attack beside an honest transfer between real shoal
// processes.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// attack is one hostile behaviour.
type attack struct {
	name, about string
	// pieces: the attack needs the torrent's layout, not only its infohash.
	pieces bool
	// listens: the attack waits for the target to dial it (-listen).
	listens bool
	run     func(ctx context.Context, o *opts) (summary string, err error)
}

func attacks() []attack {
	return []attack{
		{name: "metadata", about: "ut_metadata request for piece -piece (default 2^49)", run: runMetadata},
		{name: "unrequested", about: "act as a seeder the target dials (-listen) and send garbage for the last block of every piece, unrequested", pieces: true, listens: true, run: runUnrequested},
		{name: "squatters", about: "-conns connections that handshake, then send only keep-alives; they reconnect when dropped", run: runSquatters},
		{name: "halfopen", about: "-conns TCP connections that never finish the handshake; reopened when closed", run: runHalfOpen},
		{name: "pex", about: "one peer sending ut_pex with -addrs added addresses, -per-msg a message", run: runPex},
		{name: "garbage", about: "peers sending random bytes, a 0xFFFFFFF0 length, a bitfield with spare bits, have out of range, a 1 MiB request; each must be dropped", pieces: true, run: runGarbage},
	}
}

// opts is everything an attack is told.
type opts struct {
	target   string // HOST:PORT of the victim
	listen   string // where to wait for the victim to dial us
	infoHash [20]byte
	// The torrent's layout; zero when only -infohash was given.
	numPieces int
	pieceLen  int64
	total     int64

	src        *sources
	conns      int
	interval   time.Duration
	dropWithin time.Duration
	piece      int64
	addrs      int
	perMsg     int
	pexPort    int

	out  io.Writer
	mu   sync.Mutex // guards out and said
	said bool       // "ready" was printed
}

// say prints one line of progress.
func (o *opts) say(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.out, format+"\n", args...)
}

// ready says, once, that the attack is in place.
func (o *opts) ready() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.said {
		o.said = true
		fmt.Fprintln(o.out, "ready")
	}
}

// pieceSize is the length of piece i.
func (o *opts) pieceSize(i int) int64 {
	return min(o.pieceLen, o.total-int64(i)*o.pieceLen)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status: 0 when the
// attack ran and the target coped, 1 otherwise, 2 for usage errors.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "usage: shoal-attack ATTACK -target HOST:PORT (-torrent FILE | -infohash HEX) [flags]\n\nattacks:")
		for _, a := range attacks() {
			fmt.Fprintf(stderr, "  %-12s %s\n", a.name, a.about)
		}
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		usage()
		return 2
	}
	var a *attack
	for _, x := range attacks() {
		if x.name == args[0] {
			a = &x
		}
	}
	if a == nil {
		fmt.Fprintf(stderr, "shoal-attack: unknown attack %q\n", args[0])
		usage()
		return 2
	}
	o := &opts{out: stdout}
	fs := flag.NewFlagSet("shoal-attack "+a.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var torrent, infoHash, src string
	var duration time.Duration
	fs.StringVar(&o.target, "target", "", "HOST:PORT of the peer to attack")
	fs.StringVar(&o.listen, "listen", "127.0.0.2:0", "where to wait for the target to dial (unrequested)")
	fs.StringVar(&torrent, "torrent", "", ".torrent of the swarm")
	fs.StringVar(&infoHash, "infohash", "", "infohash in hex, instead of -torrent (attacks that need no layout)")
	fs.StringVar(&src, "src", "127.0.0.2", "first source address; attackers come from consecutive ones (\"\": any)")
	srcCount := fs.Int("src-count", 250, "how many source addresses to rotate through")
	fs.IntVar(&o.conns, "conns", 0, "connections (squatters 8, halfopen 300)")
	fs.DurationVar(&o.interval, "interval", 0, "pace of repeated sends (default per attack)")
	fs.DurationVar(&o.dropWithin, "drop-within", 5*time.Second, "how long a garbage peer waits to be dropped")
	fs.DurationVar(&duration, "duration", 0, "stop after this long (0: when the attack is over, or Ctrl-C)")
	fs.Int64Var(&o.piece, "piece", 1<<49, "ut_metadata piece to request (metadata)")
	fs.IntVar(&o.addrs, "addrs", 100_000, "addresses to send (pex)")
	fs.IntVar(&o.perMsg, "per-msg", 50, "addresses per ut_pex message (pex)")
	fs.IntVar(&o.pexPort, "pex-port", 1, "port of the addresses sent (pex); a closed one")
	fs.Usage = func() { usage(); fmt.Fprintln(stderr, "\nflags:"); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "shoal-attack:", err)
		return 1
	}
	usageErr := func(err error) int {
		fmt.Fprintln(stderr, "shoal-attack:", err)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if o.target == "" && !a.listens {
		return usageErr(errors.New("-target HOST:PORT is required"))
	}
	switch {
	case torrent != "":
		mi, err := metainfo.LoadFromFile(torrent)
		if err != nil {
			return fail(err)
		}
		info, err := mi.UnmarshalInfo()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", torrent, err))
		}
		o.infoHash = mi.HashInfoBytes()
		o.numPieces, o.pieceLen, o.total = info.NumPieces(), info.PieceLength, info.TotalLength()
	case infoHash != "":
		b, err := hex.DecodeString(infoHash)
		if err != nil || len(b) != 20 {
			return usageErr(fmt.Errorf("-infohash %q: want 40 hex digits", infoHash))
		}
		copy(o.infoHash[:], b)
	default:
		return usageErr(errors.New("-torrent FILE or -infohash HEX is required"))
	}
	if a.pieces && o.numPieces == 0 {
		return usageErr(fmt.Errorf("%s needs -torrent (it sends piece indexes)", a.name))
	}
	var err error
	if o.src, err = newSources(src, *srcCount); err != nil {
		return usageErr(err)
	}
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	summary, err := a.run(ctx, o)
	if summary != "" {
		o.say("done: %s", summary)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// sources hands out source addresses in turn: 127.0.0.2, .3 and so on,
// so that every attacker looks like a host of its own. A target that caps
// connections per IP then cannot tell them from honest peers by address;
// the honest peers of the tests stay on 127.0.0.1.
type sources struct {
	mu    sync.Mutex
	first netip.Addr
	n     uint32
	next  uint32
}

func newSources(first string, n int) (*sources, error) {
	s := &sources{n: uint32(max(n, 1))}
	if first == "" {
		return s, nil
	}
	a, err := netip.ParseAddr(first)
	if err != nil || !a.Is4() {
		return nil, fmt.Errorf("-src %q: want an IPv4 address", first)
	}
	s.first = a
	return s, nil
}

// get returns the next source address; the zero Addr means any.
func (s *sources) get() netip.Addr {
	if !s.first.IsValid() {
		return netip.Addr{}
	}
	s.mu.Lock()
	k := s.next % s.n
	s.next++
	s.mu.Unlock()
	b := s.first.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += k
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
