package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm"
)

func newStreamCmd(e env) *cobra.Command {
	var (
		f    swarmFlags
		addr string
	)
	cmd := &cobra.Command{
		Use:   "stream TORRENT|MAGNET",
		Short: "Download a torrent and serve its files over HTTP while it downloads",
		Long: `Download a torrent into --dir, as get does, and serve each of its files over
HTTP at once: a player pointed at a file's URL plays it while it downloads.
The pieces at and just after where each open request reads are fetched
first (a read-ahead window sized to the read rate), the rest rarest first;
a request waits only until the bytes it asked for are verified. Range
requests work, so players can seek.

The index page (http://ADDR/) lists the files; each is at /INDEX/NAME.
The terminal UI does not open here (the URLs stay on screen); shoal watch
shows it. Ctrl-C stops; the torrent is seeded until then.`,
		Example: `  shoal stream movie.torrent --dir ~/Videos
  mpv http://127.0.0.1:8888/0/movie.mkv
  shoal stream 'magnet:?xt=urn:btih:...' --http 127.0.0.1:9000 --dir /tmp/m`,
		Args: exactArgs(1, "a .torrent file or magnet link"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usageError{fmt.Errorf("--http %q: want HOST:PORT, e.g. 127.0.0.1:8888", addr)}
			}
			peers, err := f.peerAddrs(cmd.Context())
			if err != nil {
				return err
			}
			var m *meta.Torrent
			var mag *meta.Magnet
			if meta.IsMagnet(args[0]) {
				if mag, err = meta.ParseMagnet(args[0]); err != nil {
					return err
				}
			} else if m, err = loadTorrent(args[0]); err != nil {
				return err
			}
			// Listen before anything slow, so a busy port fails at once.
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--http: %w", err)
			}
			defer ln.Close()
			s, r, closeSession, err := f.open(e, false)
			if err != nil {
				return err
			}
			defer closeSession()
			// Served from the start: while a magnet's metadata is on its
			// way a player is told to come back, not refused.
			var handler atomic.Pointer[http.Handler]
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if h := handler.Load(); h != nil {
					(*h).ServeHTTP(w, req)
					return
				}
				w.Header().Set("Retry-After", "2")
				http.Error(w, "fetching the torrent's metadata from peers; try again in a moment", http.StatusServiceUnavailable)
			}), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
				BaseContext: func(net.Listener) context.Context { return cmd.Context() }}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			defer srv.Close() // ends requests still waiting for pieces
			base := "http://" + ln.Addr().String()
			if mag != nil {
				r.event("http_waiting", map[string]any{"url": base + "/"}, fmt.Sprintf("%s: %s/ answers 503 until the metadata is in", magnetName(mag), base))
			}
			if m, peers, err = f.resolveTarget(cmd.Context(), e, r, s, args[0], mag, m, peers); err != nil {
				return err
			}
			t, err := s.Add(m, f.torrentConfig(peers))
			if err != nil {
				return err
			}
			eng := newLiveEngine([]string{m.Name}, []*swarm.Torrent{t})
			defer startControl(r, f.stateDir, s.Port(), eng)()
			var h http.Handler = newStreamHandler(t)
			handler.Store(&h)
			r.event("started", map[string]any{"name": m.Name, "info_hash": m.InfoHash.HexString(), "size": m.Layout.DataTotal},
				fmt.Sprintf("%s: %s in %d pieces, saving to %s", m.Name, humanize.IBytes(uint64(m.Layout.DataTotal)), m.Layout.NumPieces, f.dir))
			r.event("listening", map[string]any{"port": s.Port()}, fmt.Sprintf("listening on port %d", s.Port()))
			r.event("streaming", map[string]any{"url": base + "/"}, "streaming at "+base+"/")
			for k, i := range m.Layout.ShownFiles() {
				u := base + fileLink(k, m.Layout.Files[i].Path)
				r.event("file", map[string]any{"index": k, "url": u}, "  "+u)
			}
			announced := false
			err = runSwarm(cmd.Context(), r, false, eng, []*swarm.Torrent{t}, t.Completed(),
				func(rep *reporter) (bool, error) {
					select {
					case err := <-served:
						return true, fmt.Errorf("http server: %w", err)
					default:
					}
					if snap := t.Snapshot(); snap.State == swarm.StateError {
						return true, errors.New(snap.Error)
					}
					if !announced && isClosed(t.Completed()) {
						announced = true
						rep.event("complete", map[string]any{"name": m.Name, "info_hash": m.InfoHash.HexString()}, fmt.Sprintf("%s: download complete; still streaming and seeding", m.Name))
						rep.ring()
					}
					return false, nil
				})
			srv.Close()
			complete := isClosed(t.Completed())
			t.Stop()
			r.event("stopped", map[string]any{"name": m.Name, "info_hash": m.InfoHash.HexString(), "complete": complete}, stoppedText(m.Name, complete, false))
			if errors.Is(err, context.Canceled) {
				return nil // Ctrl-C is how streaming ends
			}
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&addr, "http", "127.0.0.1:8888", "HOST:PORT the HTTP server listens on (port 0 picks a free one)")
	return cmd
}

// fileLink is the path on the server of the k-th file people see (as
// info numbers them, pad files left out): /INDEX/NAME, the name there
// for players and people, the index what counts.
func fileLink(k int, p []string) string {
	return "/" + strconv.Itoa(k) + "/" + url.PathEscape(p[len(p)-1])
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Name}}</title></head>
<body><h1>{{.Name}}</h1><ul>
{{range .Files}}<li><a href="{{.Link}}">{{.Path}}</a> ({{.Size}}, {{.Progress}}%)</li>
{{end}}</ul></body></html>
`))

// newStreamHandler serves the torrent's files: an index page at / and
// each file at /INDEX/NAME, with Range support, every read waiting only
// for the pieces it needs.
func newStreamHandler(t *swarm.Torrent) http.Handler {
	l := t.Meta().Layout
	shown := l.ShownFiles()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		type file struct{ Link, Path, Size, Progress string }
		var files []file
		snap := t.Snapshot()
		for k, i := range shown {
			f := l.Files[i]
			prog := ""
			if snap != nil && k < len(snap.Files) {
				prog = strconv.Itoa(int(snap.Files[k].Progress * 100))
			}
			files = append(files, file{Link: fileLink(k, f.Path), Path: strings.Join(f.Path, "/"),
				Size: humanize.IBytes(uint64(f.Length)), Progress: prog})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		indexPage.Execute(w, map[string]any{"Name": t.Meta().Name, "Files": files})
	})
	mux.HandleFunc("GET /{index}/{name...}", func(w http.ResponseWriter, r *http.Request) {
		k, err := strconv.Atoi(r.PathValue("index"))
		if err != nil || k < 0 || k >= len(shown) {
			http.NotFound(w, r)
			return
		}
		i := shown[k]
		rd, err := t.NewReader(r.Context(), i)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer rd.Close()
		name := l.Files[i].Path[len(l.Files[i].Path)-1]
		// A type from the name: ServeContent would otherwise sniff the
		// first bytes, and wait for the first piece to do it.
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ctype)
		http.ServeContent(w, r, name, time.Time{}, rd)
	})
	return mux
}
