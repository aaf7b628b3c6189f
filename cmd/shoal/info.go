package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/piece/meta"
)

// infoJSON is `shoal info --json` output, for scripts.
type infoJSON struct {
	Name        string     `json:"name"`
	InfoHash    string     `json:"info_hash"`
	TotalSize   int64      `json:"total_size,omitempty"`
	PieceLength int64      `json:"piece_length,omitempty"`
	Pieces      int        `json:"pieces,omitempty"`
	Private     bool       `json:"private"`
	Trackers    [][]string `json:"trackers"`
	WebSeeds    []string   `json:"web_seeds,omitempty"`
	Peers       []string   `json:"peers,omitempty"`
	Files       []fileJSON `json:"files,omitempty"`
	Comment     string     `json:"comment,omitempty"`
	CreatedBy   string     `json:"created_by,omitempty"`
	Magnet      string     `json:"magnet"`
	// Warnings says what was skipped or renamed to load the torrent.
	Warnings []string `json:"warnings,omitempty"`
}

type fileJSON struct {
	Path   string `json:"path"`
	Length int64  `json:"length"`
}

func newInfoCmd(e env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info TORRENT|MAGNET",
		Short: "Show what a .torrent or magnet link describes",
		Example: `  shoal info album.torrent
  shoal info 'magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=album'
  shoal info album.torrent --json | jq .files`,
		Args: exactArgs(1, "a .torrent file or magnet link"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out infoJSON
			if meta.IsMagnet(args[0]) {
				m, err := meta.ParseMagnet(args[0])
				if err != nil {
					return err
				}
				out = infoJSON{Name: m.Name, InfoHash: m.InfoHash.HexString(), Trackers: [][]string{}, Peers: m.Peers, Magnet: args[0]}
				for _, tr := range m.Trackers {
					out.Trackers = append(out.Trackers, []string{tr})
				}
			} else {
				t, err := meta.Load(args[0])
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				out = infoJSON{
					Name: t.Name, InfoHash: t.InfoHash.HexString(), TotalSize: t.Layout.Total,
					PieceLength: t.Layout.PieceLength, Pieces: t.Layout.NumPieces, Private: t.Private,
					Trackers: t.Trackers, WebSeeds: t.WebSeeds, Comment: t.Comment, CreatedBy: t.CreatedBy, Magnet: t.Magnet(),
					Warnings: t.Warnings,
				}
				if out.Trackers == nil {
					out.Trackers = [][]string{}
				}
				for _, f := range t.Layout.Files {
					if !f.Pad {
						out.Files = append(out.Files, fileJSON{Path: strings.Join(f.Path, "/"), Length: f.Length})
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
	row("Info hash:", in.InfoHash)
	if in.Pieces > 0 {
		row("Size:", fmt.Sprintf("%s (%s bytes)", humanize.IBytes(uint64(in.TotalSize)), humanize.Comma(in.TotalSize)))
		row("Pieces:", fmt.Sprintf("%s of %s", humanize.Comma(int64(in.Pieces)), humanize.IBytes(uint64(in.PieceLength))))
		row("Private:", map[bool]string{true: "yes (peers from trackers only)", false: "no"}[in.Private])
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
			fmt.Fprintf(w, "  %10s  %s\n", humanize.IBytes(uint64(f.Length)), termsafe.String(f.Path))
		}
	}
}
