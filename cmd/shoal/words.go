package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// This file turns what Go's libraries say into what a person at the
// command line needs: what went wrong, with which input, and what to do.

// plural says "1 file" and "2 files".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// flagError rewrites pflag's errors, which quote the parser that failed
// (`strconv.ParseInt: parsing "abc": invalid syntax`), as what the flag
// wants. Errors from shoal's own flag types already say that.
func flagError(_ *cobra.Command, err error) error {
	var iv *pflag.InvalidValueError
	if !errors.As(err, &iv) {
		return usageError{err}
	}
	name := "--" + iv.GetFlag().Name
	var want string
	switch iv.GetFlag().Value.Type() {
	case "int", "int64", "int32", "uint", "uint16", "uint32", "uint64":
		want = "a whole number, e.g. 4"
	case "float64", "float32":
		want = "a number, e.g. 1.5"
	case "duration":
		want = "a duration with its unit, e.g. 30s, 10m or 1h"
	case "bool":
		want = "true or false"
	default: // shoal's own types say what they want
		return usageError{fmt.Errorf("%s %q: %w", name, iv.GetValue(), errors.Unwrap(err))}
	}
	return usageError{fmt.Errorf("%s %q: want %s", name, iv.GetValue(), want)}
}

// netWords says why a connection or request failed, without the Go
// call chain (`Get "http://…": dial tcp …: connect: connection refused`).
func netWords(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing is listening there"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "no answer in time"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("host name %s not found", dnsErr.Name)
		}
		return fmt.Sprintf("cannot look up host name %s", dnsErr.Name)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to that host"
	case errors.Is(err, fs.ErrNotExist):
		return "no such socket"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "the connection was closed at the other end"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// fileWords says why a file could not be read or written, naming it once
// (os.PathError names it again inside, and temporary names besides).
func fileWords(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, syscall.EISDIR):
		return "is a directory"
	case errors.Is(err, syscall.ENOSPC):
		return "the disk is full"
	case errors.Is(err, syscall.EROFS):
		return "the file system is read-only"
	case errors.Is(err, syscall.ENOTDIR):
		return "a part of the path is not a directory"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// joinWords lists items for a sentence: "a", "a and b", "a, b and c".
func joinWords(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// torrentError says why the .torrent named arg could not be loaded. A
// directory or a missing file is said once, with what to do; a file
// that is no bencode at all is said to be no torrent rather than shown
// the parser's byte offset.
func torrentError(arg string, err error) error {
	switch {
	case errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("%s is a directory, not a .torrent file (to make a torrent of it: shoal create %s)", arg, arg)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such file", arg)
	case strings.HasSuffix(err.Error(), meta.ErrBadBencode.Error()+": truncated at byte 0"):
		return fmt.Errorf("%s is empty, not a .torrent file (a download that failed?)", arg)
	case cutShort(err):
		return fmt.Errorf("%s is cut short: its data ends in the middle (a download that did not finish?)", arg)
	case strings.Contains(err.Error(), meta.ErrBadBencode.Error()+": unexpected byte") && strings.HasSuffix(err.Error(), " at 0"):
		// ParseWith keeps only the text of the bencode error.
		return fmt.Errorf("%s is not a .torrent file: it does not hold bencoded data (is it the right file, or a download that failed?)", arg)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %s", arg, fileWords(err))
	}
	return fmt.Errorf("%s: %w", arg, err)
}

// cutShort reports a bencode error that means the data ends before what
// it began is complete: a value left open, an integer without its end,
// a string whose length runs past the end. ParseWith keeps only the
// error's text, so its words are matched.
func cutShort(err error) bool {
	msg := err.Error()
	if !strings.Contains(msg, meta.ErrBadBencode.Error()+": ") {
		return false
	}
	for _, w := range []string{": truncated at byte ", ": truncated integer at byte ", " claims more bytes than remain"} {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}
