// Command anacrolix162-peer is cmd/anacrolix-peer built against anacrolix's
// torrent v1.62.0 (the anchor issue 14 measures against), in a module of its own so shoal's
// go.mod keeps v1.59.1. v1.62.0 imports github.com/anacrolix/go-utp, which
// the Go proxy refuses; go.mod replaces it with ./goutpstub, so this peer
// speaks TCP only and refuses -utp. Its command line and output are the
// bench-peer contract every benchmark peer speaks:
//
//	-seed: verify, print "ready PORT", seed until SIGINT/SIGTERM.
//	leecher: print "listening PORT", download from -peers, print "done",
//	then keep seeding until SIGINT/SIGTERM.
//
// Both print "uploaded BYTES" (payload sent) when the signal comes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"
)

// options are the contract's flags.
type options struct {
	torrent, dir, peers string
	seed, utp           bool
	port                int
	upLimit, downLimit  int64 // bytes per second, 0 unlimited
}

func main() {
	var o options
	flag.StringVar(&o.torrent, "torrent", "", "the .torrent file")
	flag.StringVar(&o.dir, "dir", "", "save path")
	flag.BoolVar(&o.seed, "seed", false, "verify the data and seed until SIGINT instead of downloading")
	flag.StringVar(&o.peers, "peers", "", "comma-separated HOST:PORT of peers to download from")
	flag.IntVar(&o.port, "port", 0, "TCP port to listen on (0 picks one)")
	flag.BoolVar(&o.utp, "utp", false, "speak uTP only: refused, this build has no uTP")
	flag.Int64Var(&o.upLimit, "up-limit", 0, "upload rate limit in bytes per second (0: unlimited)")
	flag.Int64Var(&o.downLimit, "down-limit", 0, "download rate limit in bytes per second (0: unlimited)")
	flag.Parse()
	// ANACROLIX_PEER_CPUPROFILE=PREFIX writes PREFIX.PID, a CPU profile
	// of this process's life, to see where an anchor's CPU goes.
	if prefix := os.Getenv("ANACROLIX_PEER_CPUPROFILE"); prefix != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(o); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "anacrolix162-peer:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.upLimit < 0 || o.downLimit < 0 {
		return errors.New("-up-limit and -down-limit cannot be negative")
	}
	if o.utp {
		return errors.New("-utp: uTP unavailable (github.com/anacrolix/go-utp is stubbed out; see go.mod)")
	}
	// Caught from the start, so a signal while the data is verified
	// still ends in an orderly exit.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = o.dir
	cfg.ListenHost = torrent.LoopbackListenHost
	cfg.ListenPort = o.port
	cfg.NoDHT, cfg.DisableTrackers, cfg.NoDefaultPortForwarding = true, true, true
	cfg.DisableUTP, cfg.DisablePEX, cfg.DisableIPv6 = true, true, true
	// Plain BitTorrent handshakes, as the other benchmark peers dial, so
	// no side pays for obfuscation the others do not.
	cfg.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{}
	cfg.Seed = true // a leecher keeps seeding once done, as the contract says
	// With its default 1 MiB of request data allocated per connection, an
	// anacrolix seeder stalls an anacrolix leecher (which keeps more than
	// that outstanding) after about 100 KiB; found while writing this
	// benchmark. 64 MiB lets it run at full speed.
	cfg.MaxAllocPeerRequestDataPerConn = 64 << 20
	// Explicit bursts: left at 0, anacrolix makes the upload burst that
	// 64 MiB, which would let a capped seeder send a whole small torrent
	// at once. 128 KiB covers the largest block peers request; the
	// download burst must exceed anacrolix's largest socket read.
	if o.upLimit > 0 {
		cfg.UploadRateLimiter = rate.NewLimiter(rate.Limit(o.upLimit), 128<<10)
	}
	if o.downLimit > 0 {
		cfg.DownloadRateLimiter = rate.NewLimiter(rate.Limit(o.downLimit), 1<<20)
	}
	cfg.Debug = os.Getenv("ANACROLIX_PEER_LOG") != ""
	if !cfg.Debug {
		cfg.Logger = cfg.Logger.WithFilterLevel(alog.Disabled)
		cfg.Slogger = slog.New(slog.DiscardHandler)
	}
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	mi, err := metainfo.LoadFromFile(o.torrent)
	if err != nil {
		return err
	}
	t, err := cl.AddTorrent(mi)
	if err != nil {
		return err
	}
	port := listenPort(cl)
	if o.seed {
		if err := t.VerifyDataContext(context.Background()); err != nil {
			return err
		}
		select {
		case <-t.Complete().On():
		case <-sig:
			return errors.New("interrupted before the data was verified complete")
		}
		fmt.Printf("ready %d\n", port)
	} else {
		fmt.Printf("listening %d\n", port)
		var pis []torrent.PeerInfo
		for _, p := range strings.Split(o.peers, ",") {
			if p != "" {
				pis = append(pis, torrent.PeerInfo{Addr: torrent.StringAddr(p), Trusted: true})
			}
		}
		t.AddPeers(pis)
		t.DownloadAll()
		select {
		case <-t.Complete().On():
			fmt.Println("done")
		case <-sig:
			fmt.Printf("uploaded %d\n", uploaded(t))
			return errors.New("interrupted before the download completed")
		}
	}
	<-sig
	fmt.Printf("uploaded %d\n", uploaded(t))
	return nil
}

// listenPort is the port peers reach us on, TCP's.
func listenPort(cl *torrent.Client) int {
	for _, a := range cl.ListenAddrs() {
		if ta, ok := a.(*net.TCPAddr); ok {
			return ta.Port
		}
	}
	return 0
}

// uploaded is the piece payload sent to every peer so far.
func uploaded(t *torrent.Torrent) int64 {
	st := t.Stats()
	return st.BytesWrittenData.Int64()
}
