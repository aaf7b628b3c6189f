package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/tracker"
)

// trackerFile is the --config file: the same settings as the flags, which
// win when both are given.
type trackerFile struct {
	HTTP              *string `json:"http"`
	UDP               *string `json:"udp"`
	Store             *string `json:"store"`
	Interval          *string `json:"interval"`
	Allowlist         *string `json:"allowlist"`
	Denylist          *string `json:"denylist"`
	Private           *bool   `json:"private"`
	Passkeys          *string `json:"passkeys"`
	TrustForwardedFor *bool   `json:"trust_forwarded_for"`
	TrustIPParam      *bool   `json:"trust_ip_param"`
}

func newTrackerCmd(e env) *cobra.Command {
	var (
		cfgFile                   string
		httpAddr, udpAddr, store  string
		interval                  time.Duration
		allowlist, denylist, keys string
		private, xff, ipParam     bool
		verbose                   bool
		ipRate, torrentRate       float64
		ipBurst, torrentBurst     int
	)
	defaults := tracker.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "tracker",
		Short: "Run a standalone HTTP and UDP tracker",
		Long: `Run a BitTorrent tracker that qBittorrent, Transmission, aria2, anacrolix and
shoal announce to, scrape, and find each other through.

Swarms are kept in memory by default; --store redis://HOST:PORT/DB shares
them between several tracker processes behind a load balancer. /stats gives
JSON figures and /metrics Prometheus ones. SIGHUP rereads the allowlist,
denylist and passkeys without dropping swarms; Ctrl-C or SIGTERM stops.`,
		Example: `  shoal tracker
  shoal tracker --http 127.0.0.1:8000 --udp "" --interval 10m
  shoal tracker --store redis://127.0.0.1:6379/0 --allowlist allowed.txt
  shoal tracker --private --passkeys members.txt   # announce URL: /announce/<passkey>`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := tracker.DefaultConfig()
			if cfgFile != "" {
				if err := applyTrackerFile(cfgFile, cmd, &httpAddr, &udpAddr, &store, &interval, &allowlist, &denylist, &private, &keys, &xff, &ipParam); err != nil {
					return err
				}
			}
			cfg.HTTPAddr, cfg.UDPAddr, cfg.Interval = httpAddr, udpAddr, interval
			cfg.MinInterval = min(cfg.MinInterval, interval/2)
			cfg.AllowlistFile, cfg.DenylistFile, cfg.Private, cfg.PasskeysFile = allowlist, denylist, private, keys
			cfg.TrustForwardedFor, cfg.TrustIPParam = xff, ipParam
			cfg.AnnounceRate, cfg.AnnounceBurst = ipRate, ipBurst
			cfg.TorrentRate, cfg.TorrentBurst = torrentRate, torrentBurst
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			cfg.Logger = log
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			st, err := openStore(cmd.Context(), store, log)
			if err != nil {
				return err
			}
			defer st.Close()
			srv, err := tracker.New(cfg, st)
			if err != nil {
				return err
			}
			if err := srv.Start(); err != nil {
				return err
			}
			if a := srv.HTTPAddr(); a.IsValid() {
				fmt.Fprintf(e.stdout, "tracker listening on http://%s%s (scrape %s, /stats, /metrics)\n", a, cfg.AnnouncePath, cfg.ScrapePath)
			}
			if a := srv.UDPAddr(); a.IsValid() {
				fmt.Fprintf(e.stdout, "tracker listening on udp://%s\n", a)
			}
			log.Info("tracker started", "store", storeName(store), "interval", interval)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-hup:
					if err := srv.Reload(); err != nil {
						log.Error("reload failed; the previous lists stay in force", "err", err)
					} else {
						log.Info("lists reloaded")
					}
				case <-cmd.Context().Done():
					log.Info("shutting down")
					return srv.Close()
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "JSON file with these settings (flags given on the command line win)")
	f.StringVar(&httpAddr, "http", ":6969", `HTTP listen address ("" disables HTTP)`)
	f.StringVar(&udpAddr, "udp", ":6969", `UDP listen address ("" disables UDP)`)
	f.StringVar(&store, "store", "memory", "where swarms live: memory or redis://HOST:PORT/DB")
	f.DurationVar(&interval, "interval", 30*time.Minute, "announce interval told to clients")
	f.StringVar(&allowlist, "allowlist", "", "file of hex infohashes: serve only these")
	f.StringVar(&denylist, "denylist", "", "file of hex infohashes: refuse these")
	f.BoolVar(&private, "private", false, "require a passkey: /announce/<passkey>")
	f.StringVar(&keys, "passkeys", "", "file of passkeys, one per line")
	f.BoolVar(&xff, "trust-forwarded-for", false, "take the client address from X-Forwarded-For (behind a proxy)")
	f.BoolVar(&ipParam, "trust-ip-param", false, "take the client address from the ip parameter")
	f.Float64Var(&ipRate, "ip-rate", defaults.AnnounceRate, "requests per second from one IP (IPv6: its /64), all torrents together;\n0, the default, is off: no per-address limit is safe behind carrier-grade NAT")
	f.IntVar(&ipBurst, "ip-burst", defaults.AnnounceBurst, "burst of requests allowed from one IP, with --ip-rate")
	f.Float64Var(&torrentRate, "ip-torrent-rate", defaults.TorrentRate, "announces per second from one IP for one torrent (0 is off); a well-behaved\nclient announces a torrent once an interval")
	f.IntVar(&torrentBurst, "ip-torrent-burst", defaults.TorrentBurst, "burst of announces from one IP for one torrent")
	f.BoolVarP(&verbose, "verbose", "v", false, "log at debug level")
	return cmd
}

func storeName(s string) string {
	if strings.HasPrefix(s, "redis://") {
		return "redis"
	}
	return s
}

func openStore(ctx context.Context, spec string, log *slog.Logger) (tracker.PeerStore, error) {
	switch {
	case spec == "memory":
		return tracker.NewMemoryStore(tracker.DefaultMemoryConfig()), nil
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return tracker.NewRedisStore(ctx, tracker.RedisConfig{URL: spec, Logger: log})
	}
	return nil, usageError{fmt.Errorf("--store %q: want memory or redis://HOST:PORT/DB", spec)}
}

func applyTrackerFile(path string, cmd *cobra.Command, httpAddr, udpAddr, store *string, interval *time.Duration,
	allow, deny *string, private *bool, keys *string, xff, ipParam *bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var f trackerFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	set := func(flag string) bool { return !cmd.Flags().Changed(flag) }
	str := func(flag string, dst *string, v *string) {
		if v != nil && set(flag) {
			*dst = *v
		}
	}
	boolean := func(flag string, dst *bool, v *bool) {
		if v != nil && set(flag) {
			*dst = *v
		}
	}
	str("http", httpAddr, f.HTTP)
	str("udp", udpAddr, f.UDP)
	str("store", store, f.Store)
	str("allowlist", allow, f.Allowlist)
	str("denylist", deny, f.Denylist)
	str("passkeys", keys, f.Passkeys)
	boolean("private", private, f.Private)
	boolean("trust-forwarded-for", xff, f.TrustForwardedFor)
	boolean("trust-ip-param", ipParam, f.TrustIPParam)
	if f.Interval != nil && set("interval") {
		d, err := time.ParseDuration(*f.Interval)
		if err != nil {
			return fmt.Errorf("%s: interval: %w", path, err)
		}
		*interval = d
	}
	return nil
}
