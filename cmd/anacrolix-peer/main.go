// Command anacrolix-peer runs anacrolix's torrent.Client as a seeder or a
// leecher, so benchmarks can put an independent implementation in a
// process of its own beside shoal and measure both the same way.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

func main() {
	torrentPath := flag.String("torrent", "", "the .torrent file")
	dir := flag.String("dir", "", "save path")
	seed := flag.Bool("seed", false, "seed until SIGINT instead of downloading")
	peers := flag.String("peers", "", "comma-separated HOST:PORT of peers to download from")
	port := flag.Int("port", 0, "TCP port to listen on (0 picks one)")
	utp := flag.Bool("utp", false, "speak uTP only (TCP off): the port is then a UDP one")
	flag.Parse()
	if err := run(*torrentPath, *dir, *seed, *peers, *port, *utp); err != nil {
		fmt.Fprintln(os.Stderr, "anacrolix-peer:", err)
		os.Exit(1)
	}
}

func run(torrentPath, dir string, seed bool, peers string, port int, utp bool) error {
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = dir
	cfg.ListenHost = torrent.LoopbackListenHost
	cfg.ListenPort = port
	cfg.NoDHT, cfg.DisableTrackers, cfg.NoDefaultPortForwarding = true, true, true
	cfg.DisableUTP, cfg.DisablePEX, cfg.DisableIPv6 = true, true, true
	if utp {
		cfg.DisableTCP, cfg.DisableUTP = true, false
	}
	cfg.Seed = seed
	// With its default 1 MiB of request data allocated per connection, an
	// anacrolix seeder stalls an anacrolix leecher (which keeps more than
	// that outstanding) after about 100 KiB; found while writing this
	// benchmark. 64 MiB lets it run at full speed.
	cfg.MaxAllocPeerRequestDataPerConn = 64 << 20
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
	mi, err := metainfo.LoadFromFile(torrentPath)
	if err != nil {
		return err
	}
	t, err := cl.AddTorrent(mi)
	if err != nil {
		return err
	}
	if seed {
		if err := t.VerifyDataContext(context.Background()); err != nil {
			return err
		}
		<-t.Complete().On()
		for _, a := range cl.ListenAddrs() {
			switch ta := a.(type) {
			case *net.TCPAddr:
				fmt.Printf("ready %d\n", ta.Port)
			case *net.UDPAddr:
				fmt.Printf("ready %d\n", ta.Port)
			}
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		return nil
	}
	var pis []torrent.PeerInfo
	for _, p := range strings.Split(peers, ",") {
		if p != "" {
			pis = append(pis, torrent.PeerInfo{Addr: torrent.StringAddr(p), Trusted: true})
		}
	}
	t.AddPeers(pis)
	t.DownloadAll()
	<-t.Complete().On()
	fmt.Println("complete")
	return nil
}
