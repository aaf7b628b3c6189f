package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/piece/meta"
)

// infoJSON is `shoal info --json` output, for scripts.
type infoJSON struct {
	Name string `json:"name"`
	// Version is v1, v2 or hybrid.
	Version string `json:"version"`
	// InfoHash is the hash the swarm knows: v1 SHA-1, or for v2-only
	// torrents the truncated v2 hash.
	InfoHash string `json:"info_hash"`
	// InfoHashV1 is empty for v2-only torrents; the v2 fields for v1.
	InfoHashV1          string     `json:"info_hash_v1,omitempty"`
	InfoHashV2          string     `json:"info_hash_v2,omitempty"`
	InfoHashV2Truncated string     `json:"info_hash_v2_truncated,omitempty"`
	TotalSize           int64      `json:"total_size,omitempty"`
	PieceLength         int64      `json:"piece_length,omitempty"`
	Pieces              int        `json:"pieces,omitempty"`
	Private             bool       `json:"private"`
	Trackers            [][]string `json:"trackers"`
	WebSeeds            []string   `json:"web_seeds,omitempty"`
	Peers               []string   `json:"peers,omitempty"`
	Files               []fileJSON `json:"files,omitempty"`
	Comment             string     `json:"comment,omitempty"`
	CreatedBy           string     `json:"created_by,omitempty"`
	// CreationDate is RFC 3339, in UTC; empty when the torrent has none.
	CreationDate string `json:"creation_date,omitempty"`
	Magnet       string `json:"magnet"`
	// Warnings says what was skipped or renamed to load the torrent.
	Warnings []string `json:"warnings,omitempty"`
}

type fileJSON struct {
	Path   string `json:"path"`
	Length int64  `json:"length"`
	// Symlink is a BEP 47 link's target, below the save path.
	Symlink string `json:"symlink,omitempty"`
}

func newInfoCmd(e env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info TORRENT|MAGNET",
		Short: "Show what a .torrent or magnet link describes",
		Example: `  shoal info album.torrent
  shoal info 'magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=album'
  shoal info album.torrent --json | jq .files`,
		Args: exactArgs(1, "one .torrent file or magnet link"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out infoJSON
			if meta.IsMagnet(args[0]) {
				m, err := meta.ParseMagnet(args[0])
				if err != nil {
					return err
				}
				out = infoJSON{Name: m.Name, InfoHash: m.InfoHash.HexString(), Trackers: [][]string{}, Peers: m.Peers, Magnet: args[0],
					WebSeeds: m.WebSeeds, Warnings: m.Warnings}
				out.setHashes(m.HasV1, m.InfoHash, m.HasV2, m.V2InfoHash)
				for _, tr := range m.Trackers {
					out.Trackers = append(out.Trackers, []string{tr})
				}
			} else {
				t, err := meta.LoadWith(args[0], meta.ParseOptions{AllowV2Only: true})
				if err != nil {
					return torrentError(args[0], err)
				}
				out = infoJSON{
					Name: t.Name, InfoHash: t.InfoHash.HexString(), TotalSize: t.Layout.DataTotal, // pad files are not data
					PieceLength: t.Layout.PieceLength, Pieces: t.Layout.NumPieces, Private: t.Private,
					Trackers: t.Trackers, WebSeeds: t.WebSeeds, Comment: t.Comment, CreatedBy: t.CreatedBy, Magnet: t.Magnet(),
					Warnings: t.Warnings,
				}
				if !t.CreationDate.IsZero() {
					out.CreationDate = t.CreationDate.UTC().Format(time.RFC3339)
				}
				if t.V2 != nil {
					out.setHashes(t.HasV1, t.InfoHash, true, t.V2.InfoHash)
				} else {
					out.setHashes(true, t.InfoHash, false, [32]byte{})
				}
				if out.Trackers == nil {
					out.Trackers = [][]string{}
				}
				for _, f := range t.Layout.Files {
					if !f.Pad {
						out.Files = append(out.Files, fileJSON{Path: strings.Join(f.Path, "/"), Length: f.Length, Symlink: strings.Join(f.Symlink, "/")})
					}
				}
			}
			if asJSON {
				enc := json.NewEncoder(termsafe.JSONWriter(e.stdout))
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			printInfo(e.stdout, &out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

// printInfo prints in for a person. Every string in it may come from a
// stranger's torrent or magnet link, so each is escaped for the terminal.
func printInfo(w io.Writer, in *infoJSON) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, termsafe.String(v)) }
	name := in.Name
	if name == "" {
		name = "(unknown until metadata is fetched)"
	}
	row("Name:", name)
	row("Version:", map[string]string{"v1": "v1", "v2": "v2 only (BEP 52)", "hybrid": "hybrid (v1 and v2)"}[in.Version])
	if in.InfoHashV1 != "" {
		row("Info hash:", in.InfoHashV1)
	}
	if in.InfoHashV2 != "" {
		row("Info hash v2:", in.InfoHashV2)
		row("Truncated v2:", in.InfoHashV2Truncated+" (the v2 swarm's 20-byte id)")
	}
	if in.Pieces > 0 {
		row("Size:", fmt.Sprintf("%s (%s bytes)", humanize.IBytes(uint64(in.TotalSize)), humanize.Comma(in.TotalSize)))
		row("Pieces:", fmt.Sprintf("%s of %s", humanize.Comma(int64(in.Pieces)), humanize.IBytes(uint64(in.PieceLength))))
		row("Private:", map[bool]string{true: "yes (peers from trackers only)", false: "no"}[in.Private])
	}
	if in.CreationDate != "" {
		created := in.CreationDate
		if d, err := time.Parse(time.RFC3339, in.CreationDate); err == nil {
			created = d.Local().Format("2006-01-02 15:04:05 MST")
		}
		row("Created:", created)
	}
	if in.CreatedBy != "" {
		row("Created by:", in.CreatedBy)
	}
	if in.Comment != "" {
		row("Comment:", strings.ReplaceAll(in.Comment, "\n", " "))
	}
	if len(in.Trackers) == 0 {
		row("Trackers:", "none")
	}
	for i, tier := range in.Trackers {
		k := ""
		if i == 0 {
			k = "Trackers:"
		}
		row(k, fmt.Sprintf("tier %d: %s", i+1, strings.Join(tier, ", ")))
	}
	for i, ws := range in.WebSeeds {
		row(map[bool]string{true: "Web seeds:", false: ""}[i == 0], ws)
	}
	for i, p := range in.Peers {
		row(map[bool]string{true: "Peers:", false: ""}[i == 0], p)
	}
	row("Magnet:", in.Magnet)
	for i, w := range in.Warnings {
		row(map[bool]string{true: "Warnings:", false: ""}[i == 0], w)
	}
	tw.Flush()
	if len(in.Files) > 0 {
		fmt.Fprintf(w, "Files (%d):\n", len(in.Files))
		for _, f := range in.Files {
			if f.Symlink != "" {
				fmt.Fprintf(w, "  %10s  %s -> %s\n", "link", termsafe.String(f.Path), termsafe.String(f.Symlink))
				continue
			}
			fmt.Fprintf(w, "  %10s  %s\n", humanize.IBytes(uint64(f.Length)), termsafe.String(f.Path))
		}
	}
}

// setHashes fills in the version and the infohashes of either kind.
func (in *infoJSON) setHashes(hasV1 bool, v1 [20]byte, hasV2 bool, v2 [32]byte) {
	switch {
	case hasV1 && hasV2:
		in.Version = "hybrid"
	case hasV2:
		in.Version = "v2"
	default:
		in.Version = "v1"
	}
	if hasV1 {
		in.InfoHashV1 = fmt.Sprintf("%x", v1)
	}
	if hasV2 {
		in.InfoHashV2 = fmt.Sprintf("%x", v2)
		in.InfoHashV2Truncated = fmt.Sprintf("%x", v2[:20])
	}
}
