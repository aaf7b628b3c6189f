// Package piece holds everything shoal knows about a torrent's data without
// touching the network: which pieces exist and where their bytes live on disk
// (Layout), reading and writing those bytes safely (Storage), proving them
// with SHA-1 (Verify), remembering what was proven across restarts (Resume),
// and the compact sets of piece indices every one of these passes around
// (Bitfield). The piece picker lives in the picker subpackage and the .torrent
// format in meta; neither depends on swarm types.
package piece
