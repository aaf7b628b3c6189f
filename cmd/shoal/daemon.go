package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/daemon"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/rpc"
	"github.com/shoal-torrent/shoal/swarm"
)

// daemonFlags are the daemon's own flags, beside the swarm's.
type daemonFlags struct {
	rpcAddr      string
	rpcAuth      string
	allowedHosts []string
	allowedDirs  []string
	maxDownloads int
	maxSeeds     int
	watchDir     string
	completeDir  string
	resumeEvery  time.Duration
}

func newDaemonCmd(e env) *cobra.Command {
	var f swarmFlags
	var df daemonFlags
	cmd := &cobra.Command{
		Use:   "daemon [--dir DIR] [--port N] [--rpc ADDR]",
		Short: "Run one session for many torrents, driven by shoal's remote commands or Transmission's RPC",
		Long: `Run in the foreground until Ctrl-C or 'shoal stop': every torrent on one
listen port, its list and settings kept in --state-dir, so a restart (even
after kill -9) resumes each torrent without hashing data whose resume state
is valid. shoal add, ls, show, pause, resume, rm, recheck, set and stop
drive it, and so does anything that speaks Transmission's RPC
(transmission-remote, Sonarr, FlexGet) at --rpc.

The RPC listens on 127.0.0.1:9091. Any other address needs --rpc-auth.
Remote callers may save only under --dir and the --allowed-dir roots.

What session-set changes (transmission-remote -w, -d, -u and the queue
sizes) is kept in --state-dir and applies at the next start too. An option
given on the command line (--dir, --down-limit, --up-limit,
--max-active-downloads, --max-active-seeds) wins over the kept value and is
kept in its place, as transmission-daemon keeps its settings.json.`,
		Example: `  shoal daemon --dir ~/Downloads
  shoal daemon --dir /srv/torrents --port 51413 --max-active-downloads 3
  shoal daemon --rpc 0.0.0.0:9091 --rpc-auth me:/etc/shoal/rpc-password --rpc-allowed-host nas.lan
  transmission-remote -l`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if df.resumeEvery < 0 {
				return usageError{errors.New("--resume-interval cannot be negative")}
			}
			if df.maxDownloads < 0 || df.maxSeeds < 0 {
				return usageError{errors.New("--max-active-downloads and --max-active-seeds cannot be negative")}
			}
			user, pass, err := df.credentials()
			if err != nil {
				return err
			}
			if err := checkRPCBind(df.rpcAddr, user != ""); err != nil {
				return err
			}
			peers, err := f.peerAddrs(cmd.Context())
			if err != nil {
				return err
			}
			dir, err := filepath.Abs(f.dir)
			if err != nil {
				return err
			}
			f.dir = dir
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			s, r, closeSession, err := f.open(e, false)
			if err != nil {
				return err
			}
			defer closeSession()
			cfg := daemon.DefaultConfig(f.stateDir, dir)
			cfg.Torrent = f.torrentConfig(peers)
			cfg.Torrent.ResumeEvery = df.resumeEvery
			cfg.Queue.Downloads, cfg.Queue.Seeds = df.maxDownloads, df.maxSeeds
			fl := cmd.Flags()
			cfg.Given = daemon.SessionKeys{Dir: fl.Changed("dir"), DownLimit: fl.Changed("down-limit"), UpLimit: fl.Changed("up-limit"),
				MaxDownloads: fl.Changed("max-active-downloads"), MaxSeeds: fl.Changed("max-active-seeds")}
			cfg.Encryption, cfg.LSD = swarm.Encryption(f.encryption), f.lsd
			if df.completeDir != "" {
				if cfg.CompleteDir, err = filepath.Abs(df.completeDir); err != nil {
					return err
				}
				if err := os.MkdirAll(cfg.CompleteDir, 0o755); err != nil {
					return err
				}
			}
			for _, a := range df.allowedDirs {
				abs, err := filepath.Abs(a)
				if err != nil {
					return err
				}
				cfg.AllowedDirs = append(cfg.AllowedDirs, abs)
			}
			level := slog.LevelInfo
			if f.verbose {
				level = slog.LevelDebug
			}
			cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			d, err := daemon.New(cfg, s)
			if err != nil {
				return err
			}
			defer d.Close()
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			srv, err := rpc.NewServer(rpc.Config{Engine: d, User: user, Password: pass, AllowedHosts: df.allowedHosts,
				Version: version, Shutdown: stop, Logger: cfg.Logger, FetchURL: fetchTorrentURL})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", df.rpcAddr)
			if err != nil {
				return fmt.Errorf("rpc: %w", err)
			}
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
				WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
				ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}
			served := make(chan struct{})
			go func() { defer close(served); hs.Serve(ln) }()
			// shoal watch attaches as it does to get and seed; without the
			// socket the daemon still runs.
			defer startControl(r, f.stateDir, s.Port(), &daemonEngine{d: d})()
			if df.watchDir != "" {
				go watchDir(ctx, cfg.Logger, df.watchDir, d)
			}
			r.event("listening", map[string]any{"port": s.Port()}, fmt.Sprintf("listening on port %d", s.Port()))
			r.event("rpc", map[string]any{"addr": ln.Addr().String()}, fmt.Sprintf("rpc on http://%s%s", ln.Addr(), rpc.Path))
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			hs.Shutdown(sctx)
			cancel()
			<-served
			d.Close()
			r.event("stopped", nil, "daemon stopped; every torrent's state is saved")
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&df.rpcAddr, "rpc", defaultRPC, "address of Transmission's RPC (HTTP)")
	fl.StringVar(&df.rpcAuth, "rpc-auth", "", "USER:PASSWORD-FILE: require HTTP basic auth, the password read from the file")
	fl.StringArrayVar(&df.allowedHosts, "rpc-allowed-host", nil, "host name the RPC may be reached by besides IP addresses and localhost; may repeat")
	fl.StringArrayVar(&df.allowedDirs, "allowed-dir", nil, "a further directory remote callers may save under; may repeat")
	fl.IntVar(&df.maxDownloads, "max-active-downloads", 5, "downloads running at once, the rest queued (0: no limit)")
	fl.IntVar(&df.maxSeeds, "max-active-seeds", 0, "seeds running at once, the rest queued (0: no limit)")
	fl.StringVar(&df.completeDir, "complete-dir", "", "move each finished download here and seed it from here")
	fl.DurationVar(&df.resumeEvery, "resume-interval", swarm.DefaultResumeEvery, "save each download's verified pieces this often, so a crash rehashes little (0: only at stop)")
	fl.StringVar(&df.watchDir, "watch-dir", "", "add each .torrent that appears here, renamed NAME.torrent.added (or .invalid)")
	return cmd
}

// credentials reads --rpc-auth: the password comes from a file so it is
// not in the process list.
func (df *daemonFlags) credentials() (user, pass string, err error) {
	if df.rpcAuth == "" {
		return "", "", nil
	}
	user, file, ok := strings.Cut(df.rpcAuth, ":")
	if !ok || user == "" || file == "" {
		return "", "", usageError{errors.New("--rpc-auth wants USER:PASSWORD-FILE")}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", "", fmt.Errorf("--rpc-auth: %w", err)
	}
	pass = strings.TrimRight(string(b), "\r\n")
	if pass == "" {
		return "", "", fmt.Errorf("--rpc-auth: %s is empty", file)
	}
	return user, pass, nil
}

// checkRPCBind refuses an RPC reachable from other machines without a
// password.
func checkRPCBind(addr string, auth bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError{fmt.Errorf("--rpc %q: want HOST:PORT, e.g. 127.0.0.1:9091", addr)}
	}
	if auth {
		return nil
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return usageError{fmt.Errorf("--rpc %s is reachable from other machines: give --rpc-auth USER:PASSWORD-FILE too", addr)}
}

// fetchTorrentURL downloads a .torrent named by URL in torrent-add.
func fetchTorrentURL(url string) ([]byte, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return meta.ReadTorrent(resp.Body)
}
