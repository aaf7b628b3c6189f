package rpc

import (
	"net/netip"
	"strings"
	"time"

	"github.com/shoal-torrent/shoal/daemon"
	"github.com/shoal-torrent/shoal/swarm"
)

// Transmission's torrent status numbers.
const (
	statusStopped      = 0
	statusCheck        = 2
	statusDownloadWait = 3
	statusDownload     = 4
	statusSeedWait     = 5
	statusSeed         = 6
)

// Transmission's ratio sentinels.
const (
	ratioNA  = -1.0
	ratioInf = -2.0
)

// detailFields need files, peers or trackers from the daemon.
var detailFields = map[string]bool{"files": true, "fileStats": true, "priorities": true, "wanted": true,
	"peers": true, "trackerStats": true, "trackers": true, "peersFrom": true,
	"peersGettingFromUs": true, "peersSendingToUs": true}

func needsDetail(fields []string) bool {
	for _, f := range fields {
		if detailFields[f] {
			return true
		}
	}
	return false
}

func statusCode(t daemon.Status) int {
	switch t.State {
	case string(swarm.StateChecking):
		return statusCheck
	case string(swarm.StateDownloading), daemon.StateMetadata:
		return statusDownload
	case string(swarm.StateSeeding):
		return statusSeed
	case daemon.StateQueued:
		if t.Complete() {
			return statusSeedWait
		}
		return statusDownloadWait
	}
	return statusStopped
}

func unixTime(tm time.Time) int64 {
	if tm.IsZero() {
		return 0
	}
	return tm.Unix()
}

func ratio(up, down int64) float64 {
	switch {
	case down > 0:
		return float64(up) / float64(down)
	case up > 0:
		return ratioInf
	}
	return ratioNA
}

// priorityNumber is Transmission's file priority: -1 low, 0 normal, 1
// high (a skipped file keeps normal, its wanted flag false).
func priorityNumber(p string) int {
	switch p {
	case "high":
		return 1
	case "low":
		return -1
	}
	return 0
}

// torrentFields renders the fields asked for; those shoal does not know
// are left out, as the spec allows.
func torrentFields(t daemon.Status, fields []string) map[string]any {
	out := make(map[string]any, len(fields))
	size, left := t.Wanted, t.WantedLeft
	for _, f := range fields {
		var v any
		switch f {
		case "id":
			v = t.ID
		case "name":
			v = t.Name
		case "hashString":
			v = t.InfoHash
		case "status":
			v = statusCode(t)
		case "error":
			v = 0
			if t.Error != "" {
				v = 3 // local error
			}
		case "errorString":
			v = t.Error
		case "percentDone":
			v = 1.0
			if size > 0 {
				v = float64(size-left) / float64(size)
			}
		case "totalSize":
			v = t.Size
		case "sizeWhenDone":
			v = size
		case "leftUntilDone":
			v = left
		case "haveValid":
			v = t.Size - t.Left
		case "haveUnchecked", "corruptEver", "desiredAvailable", "webseedsSendingToUs", "bandwidthPriority",
			"startDate", "activityDate", "secondsDownloading", "secondsSeeding":
			v = 0
		case "recheckProgress":
			v = 0.0
		case "rateDownload":
			v = int64(t.DownRate)
		case "rateUpload":
			v = int64(t.UpRate)
		case "eta":
			switch {
			case t.ETA > 0:
				v = int64(t.ETA.Seconds())
			case left == 0:
				v = -1
			default:
				v = -2
			}
		case "uploadRatio":
			down := t.Downloaded
			if down == 0 {
				down = t.Size - t.Left
			}
			v = ratio(t.Uploaded, down)
		case "uploadedEver":
			v = t.Uploaded
		case "downloadedEver":
			v = t.Downloaded
		case "downloadDir":
			v = t.Dir
		case "addedDate":
			v = unixTime(t.Added)
		case "doneDate":
			v = unixTime(t.DoneAt)
		case "dateCreated":
			v = unixTime(t.Created)
		case "comment":
			v = t.Comment
		case "creator":
			v = t.Creator
		case "isPrivate":
			v = t.Private
		case "isFinished":
			v = t.Paused && t.Complete() && t.SeedRatio > 0 && t.Ratio >= t.SeedRatio
		case "isStalled":
			v = false
		case "magnetLink":
			v = t.Magnet
		case "pieceCount":
			v = t.PieceCount
		case "pieceSize":
			v = t.PieceSize
		case "sequential_download":
			v = t.Sequential
		case "queuePosition":
			v = t.QueuePos
		case "seedRatioLimit":
			v = t.SeedRatio
		case "seedRatioMode":
			v = 2 // unlimited
			if t.SeedRatio > 0 {
				v = 1
			}
		case "downloadLimited":
			v = t.DownLimit > 0
		case "uploadLimited":
			v = t.UpLimit > 0
		case "downloadLimit":
			v = t.DownLimit / kilo
		case "uploadLimit":
			v = t.UpLimit / kilo
		case "honorsSessionLimits":
			v = true
		case "labels", "webseeds":
			v = []string{}
		case "peersConnected":
			v = t.PeerCount
		case "peersGettingFromUs", "peersSendingToUs":
			n := 0
			for _, p := range t.Peers {
				if f == "peersGettingFromUs" && !p.AmChoking && p.PeerInterested ||
					f == "peersSendingToUs" && !p.PeerChoking && p.AmInterested {
					n++
				}
			}
			v = n
		case "files":
			files := make([]map[string]any, 0, len(t.Files))
			for _, fs := range t.Files {
				files = append(files, map[string]any{"name": fs.Path, "length": fs.Size, "bytesCompleted": fs.Done})
			}
			v = files
		case "fileStats":
			stats := make([]map[string]any, 0, len(t.Files))
			for _, fs := range t.Files {
				stats = append(stats, map[string]any{"bytesCompleted": fs.Done, "wanted": fs.Wanted(),
					"priority": priorityNumber(fs.Priority)})
			}
			v = stats
		case "priorities":
			ps := make([]int, 0, len(t.Files))
			for _, fs := range t.Files {
				ps = append(ps, priorityNumber(fs.Priority))
			}
			v = ps
		case "wanted":
			ws := make([]bool, 0, len(t.Files))
			for _, fs := range t.Files {
				ws = append(ws, fs.Wanted())
			}
			v = ws
		case "peers":
			v = peers(t.Peers)
		case "trackers", "trackerStats":
			v = trackers(t.Trackers, f == "trackerStats")
		default:
			continue
		}
		out[f] = v
	}
	return out
}

func peers(ps []swarm.PeerSnapshot) []map[string]any {
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		ap, _ := netip.ParseAddrPort(p.Addr)
		out = append(out, map[string]any{
			"address": ap.Addr().Unmap().String(), "port": ap.Port(), "clientName": p.Client, "flagStr": p.Flags(),
			"progress": p.Progress, "rateToClient": int64(p.DownRate), "rateToPeer": int64(p.UpRate),
			"clientIsChoked": p.AmChoking, "clientIsInterested": p.AmInterested, "peerIsChoked": p.PeerChoking,
			"peerIsInterested": p.PeerInterested, "isEncrypted": p.Encrypted, "isIncoming": p.Incoming,
			"isUTP": p.UTP, "isDownloadingFrom": !p.PeerChoking && p.AmInterested,
			"isUploadingTo": !p.AmChoking && p.PeerInterested,
		})
	}
	return out
}

func trackers(ts []swarm.TrackerSnapshot, stats bool) []map[string]any {
	out := make([]map[string]any, 0, len(ts))
	for i, t := range ts {
		m := map[string]any{"id": i, "announce": t.URL, "tier": t.Tier, "scrape": ""}
		if stats {
			host := t.URL
			if j := strings.Index(host, "://"); j >= 0 {
				host = host[j+3:]
			}
			if j := strings.IndexAny(host, "/?"); j >= 0 {
				host = host[:j]
			}
			m["host"] = host
			m["lastAnnounceResult"] = t.LastError
			if t.LastError == "" {
				m["lastAnnounceResult"] = t.Status
			}
			m["lastAnnounceSucceeded"] = t.LastError == "" && !t.LastAnnounce.IsZero()
			m["hasAnnounced"] = !t.LastAnnounce.IsZero()
			m["lastAnnounceTime"] = unixTime(t.LastAnnounce)
			m["nextAnnounceTime"] = unixTime(t.NextAnnounce)
			m["lastAnnouncePeerCount"] = t.PeersGot
			m["seederCount"] = t.Seeders
			m["leecherCount"] = t.Leechers
			m["announceState"] = 1
			m["hasScraped"] = false
			m["lastScrapeSucceeded"] = false
			m["scrapeState"] = 0
			m["downloadCount"] = -1
			m["isBackup"] = false
		}
		out = append(out, m)
	}
	return out
}
