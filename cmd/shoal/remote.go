package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/rpc"
)

// remoteFlags are what every command that drives a running daemon takes.
type remoteFlags struct {
	rpc     string
	auth    string
	jsonOut bool
}

func (rf *remoteFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&rf.rpc, "rpc", daemonAddr(), "the daemon's RPC: HOST:PORT or a URL; $SHOAL_RPC sets the default")
	fl.StringVar(&rf.auth, "auth", "", "USER:PASSWORD for a daemon run with --rpc-auth (default $SHOAL_RPC_AUTH)")
	fl.BoolVar(&rf.jsonOut, "json", false, "print JSON, one object per line")
}

func (rf *remoteFlags) client() *rpc.Client {
	url := rf.rpc
	if !strings.Contains(url, "://") {
		url = "http://" + url + rpc.Path
	}
	auth := rf.auth
	if auth == "" {
		auth = os.Getenv("SHOAL_RPC_AUTH")
	}
	user, pass, _ := strings.Cut(auth, ":")
	return &rpc.Client{URL: url, User: user, Password: pass}
}

// call wraps the client's errors in advice when no daemon answers.
func (rf *remoteFlags) call(ctx context.Context, method string, args, out any) error {
	err := rf.client().Call(ctx, method, args, out)
	if errors.Is(err, rpc.ErrNoDaemon) {
		return fmt.Errorf("no shoal daemon at %s (start one with 'shoal daemon', or say where with --rpc)", rf.rpc)
	}
	return err
}

// remoteTorrent is a torrent as torrent-get returns it.
type remoteTorrent struct {
	ID            int     `json:"id"`
	Name          string  `json:"name"`
	HashString    string  `json:"hashString"`
	Status        int     `json:"status"`
	PercentDone   float64 `json:"percentDone"`
	SizeWhenDone  int64   `json:"sizeWhenDone"`
	LeftUntilDone int64   `json:"leftUntilDone"`
	RateDownload  int64   `json:"rateDownload"`
	RateUpload    int64   `json:"rateUpload"`
	UploadRatio   float64 `json:"uploadRatio"`
	ETA           int64   `json:"eta"`
	Error         int     `json:"error"`
	ErrorString   string  `json:"errorString"`
	DownloadDir   string  `json:"downloadDir"`
	PeersConn     int     `json:"peersConnected"`
	AddedDate     int64   `json:"addedDate"`
	QueuePosition int     `json:"queuePosition"`
	Files         []struct {
		Name           string `json:"name"`
		Length         int64  `json:"length"`
		BytesCompleted int64  `json:"bytesCompleted"`
	} `json:"files"`
	Wanted     []bool `json:"wanted"`
	Priorities []int  `json:"priorities"`
	Peers      []struct {
		Address      string  `json:"address"`
		Port         int     `json:"port"`
		ClientName   string  `json:"clientName"`
		FlagStr      string  `json:"flagStr"`
		Progress     float64 `json:"progress"`
		RateToClient int64   `json:"rateToClient"`
		RateToPeer   int64   `json:"rateToPeer"`
	} `json:"peers"`
	TrackerStats []struct {
		Announce           string `json:"announce"`
		LastAnnounceResult string `json:"lastAnnounceResult"`
		SeederCount        int    `json:"seederCount"`
		LeecherCount       int    `json:"leecherCount"`
	} `json:"trackerStats"`
}

// listFields are what ls shows.
var listFields = []string{"id", "name", "hashString", "status", "percentDone", "sizeWhenDone", "leftUntilDone",
	"rateDownload", "rateUpload", "uploadRatio", "eta", "error", "errorString", "downloadDir", "peersConnected",
	"addedDate", "queuePosition"}

func (rf *remoteFlags) torrents(ctx context.Context, ids []int, fields []string) ([]remoteTorrent, error) {
	args := map[string]any{"fields": fields}
	if ids != nil {
		args["ids"] = ids
	}
	var out struct {
		Torrents []remoteTorrent `json:"torrents"`
	}
	if err := rf.call(ctx, "torrent-get", args, &out); err != nil {
		return nil, err
	}
	return out.Torrents, nil
}

// resolveIDs turns arguments into daemon ids: a short number as
// transmission-remote shows, or a prefix of the info hash.
func (rf *remoteFlags) resolveIDs(ctx context.Context, args []string, all bool) ([]int, error) {
	if all && len(args) > 0 {
		return nil, usageError{errors.New("give torrent ids or --all, not both")}
	}
	if !all && len(args) == 0 {
		return nil, usageError{errors.New("which torrents? give their ids (see 'shoal ls') or --all")}
	}
	list, err := rf.torrents(ctx, nil, []string{"id", "hashString"})
	if err != nil {
		return nil, err
	}
	var ids []int
	if all {
		for _, t := range list {
			ids = append(ids, t.ID)
		}
		return ids, nil
	}
	for _, a := range args {
		id, err := matchID(list, a)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func matchID(list []remoteTorrent, arg string) (int, error) {
	if n, err := strconv.Atoi(arg); err == nil && len(arg) < 8 {
		for _, t := range list {
			if t.ID == n {
				return n, nil
			}
		}
		return 0, fmt.Errorf("no torrent %d (see 'shoal ls')", n)
	}
	prefix := strings.ToLower(arg)
	if len(prefix) < 4 || strings.Trim(prefix, "0123456789abcdef") != "" {
		return 0, usageError{fmt.Errorf("%q is neither a torrent id nor an info hash prefix of 4 or more hex digits", termsafe.String(arg))}
	}
	found := -1
	for _, t := range list {
		if strings.HasPrefix(t.HashString, prefix) {
			if found >= 0 {
				return 0, fmt.Errorf("info hash prefix %s matches several torrents; give more digits", prefix)
			}
			found = t.ID
		}
	}
	if found < 0 {
		return 0, fmt.Errorf("no torrent's info hash starts with %s", prefix)
	}
	return found, nil
}

// statusName is Transmission's status number in shoal's words.
func statusName(t remoteTorrent) string {
	if t.Error != 0 {
		return "error"
	}
	switch t.Status {
	case 1, 2:
		return "checking"
	case 3, 5:
		return "queued"
	case 4:
		return "downloading"
	case 6:
		return "seeding"
	}
	return "stopped"
}

// torrentLine is ls's one line per torrent.
func torrentLine(t remoteTorrent) string {
	ratio := "-"
	if t.UploadRatio >= 0 {
		ratio = fmt.Sprintf("%.2f", t.UploadRatio)
	}
	line := fmt.Sprintf("%4d  %5.1f%%  %9s  %-11s  ↓%9s/s  ↑%9s/s  %5s  %s", t.ID, t.PercentDone*100,
		humanize.IBytes(uint64(t.SizeWhenDone)), statusName(t), humanize.IBytes(uint64(t.RateDownload)),
		humanize.IBytes(uint64(t.RateUpload)), ratio, t.Name)
	if t.ErrorString != "" {
		line += "  error: " + t.ErrorString
	}
	return termsafe.String(line)
}

// printJSON writes one object per line, escaped for the terminal.
func printJSON(e env, v any) error {
	return json.NewEncoder(termsafe.JSONWriter(e.stdout)).Encode(v)
}

// idsCommand builds pause, resume and recheck: a method on ids or --all.
func idsCommand(e env, use, short, method, done string) *cobra.Command {
	var rf remoteFlags
	var all bool
	cmd := &cobra.Command{
		Use:   use + " ID...|--all",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := rf.resolveIDs(cmd.Context(), args, all)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
			if err := rf.call(cmd.Context(), method, map[string]any{"ids": ids}, nil); err != nil {
				return err
			}
			for _, id := range ids {
				if rf.jsonOut {
					printJSON(e, map[string]any{"id": id, "result": done})
				} else {
					fmt.Fprintf(e.stdout, "%d: %s\n", id, done)
				}
			}
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "every torrent")
	return cmd
}
