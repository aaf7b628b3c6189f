// Command shoal is a BitTorrent client for the terminal: it creates,
// inspects, verifies, downloads and seeds torrents. main only parses, wires
// and exits; each subcommand lives in its own file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/internal/termsafe"
)

// version is stamped by the Makefile from git; "dev" otherwise.
var version = "dev"

// Exit codes, documented in `shoal help` and the README.
const (
	exitOK         = 0
	exitError      = 1 // bad input, I/O failure, anything that stopped the command
	exitUsage      = 2 // unknown command or flag, wrong arguments
	exitIncomplete = 3 // verify: the data is not complete and correct
)

// usageError marks mistakes in how the command was called.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// exitCodeError carries a specific exit status out of a command that did
// its job but must report a negative result (verify on incomplete data).
type exitCodeError struct {
	code int
	msg  string
}

func (e exitCodeError) Error() string { return e.msg }

// env is what every command needs from the outside world, injected so tests
// run commands in-process with their own streams.
type env struct {
	stdout, stderr io.Writer
	// interactive is true when stderr is a terminal: progress bars are
	// drawn only then.
	interactive bool
	// tty is true when stdout is a terminal too: the UI opens only then.
	tty bool
}

func main() {
	// SHOAL_CPUPROFILE=FILE records a CPU profile, for benchmark work.
	if path := os.Getenv("SHOAL_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	// Peers cost descriptors: take all the system allows (failure leaves
	// the default, which still works for small swarms).
	raiseFileLimit()
	// Ctrl-C and SIGTERM cancel the context; commands stop cleanly on it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, interactive: isTerminal(os.Stderr), tty: isTerminal(os.Stdout) && isTerminal(os.Stdin)})
	stop()
	pprof.StopCPUProfile()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	// Errors quote torrent names and paths: escaped, they cannot drive
	// the terminal.
	msg := termsafe.String(oneLine(err.Error()))
	var ec exitCodeError
	if errors.As(err, &ec) {
		if msg != "" {
			fmt.Fprintln(e.stderr, "shoal:", msg)
		}
		return ec.code
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(msg, "unknown command") {
		// One line, as the README promises: what was wrong, then where
		// the right way is written down.
		fmt.Fprintln(e.stderr, "shoal:", msg+usageHint(msg, cmd))
		return exitUsage
	}
	fmt.Fprintln(e.stderr, "shoal:", msg)
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return exitError
}

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "shoal",
		Short: "A BitTorrent client for the terminal",
		Long: `shoal creates, inspects, verifies, downloads and seeds BitTorrent torrents,
runs trackers and DHT nodes, and shows swarms live in the terminal.

Sizes may be given in bytes or with units: 262144, 256KiB, 1MiB, 4MB.
Long flags may come before or after the arguments.

Exit status:
  0  success
  1  error (bad input, unreadable files, I/O failure)
  2  usage error (unknown command or flag, wrong arguments)
  3  verify found missing or corrupt data
  130  get was interrupted (Ctrl-C) before the download completed`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newCreateCmd(e), newInfoCmd(e), newVerifyCmd(e), newGetCmd(e), newSeedCmd(e), newTrackerCmd(e), newWatchCmd(e), newDHTCmd(e), newDemoCmd(e), newStreamCmd(e))
	root.AddCommand(newDaemonCmd(e), newAddCmd(e), newLsCmd(e), newShowCmd(e), newPauseCmd(e), newResumeCmd(e), newRmCmd(e), newRecheckCmd(e), newSetCmd(e), newStopCmd(e))
	return root
}

// oneLine puts an error on one line. cobra's suggestions for a mistyped
// command come on lines of their own: they become a question.
func oneLine(msg string) string {
	if head, alts, ok := strings.Cut(msg, "\n\nDid you mean this?\n"); ok {
		msg = head + "; did you mean " + strings.Join(strings.Fields(alts), " or ") + "?"
	}
	return strings.ReplaceAll(strings.TrimSpace(msg), "\n", " ")
}

// usageHint points at the help of the command that was misused, unless
// the message already does.
func usageHint(msg string, cmd *cobra.Command) string {
	if strings.Contains(msg, "--help'") || strings.Contains(msg, "'shoal help'") {
		return ""
	}
	if cmd == nil || !cmd.HasParent() {
		return " (see 'shoal help')"
	}
	return fmt.Sprintf(" (see 'shoal %s --help')", cmd.Name())
}

// exactArgs is cobra.ExactArgs, reported as a usage error that says what
// the command takes and, when there are too many, what it was given:
// an unquoted path with a space in it is the usual cause.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == n:
			return nil
		case len(args) < n:
			return usageError{fmt.Errorf("%s needs %s", cmd.Name(), what)}
		case n == 0:
			return usageError{fmt.Errorf("%s takes no arguments, but was given %s", cmd.Name(), quoteArgs(args))}
		}
		return usageError{fmt.Errorf("%s takes %s, but was given %d: %s; quote a path that has spaces in it",
			cmd.Name(), what, len(args), quoteArgs(args))}
	}
}

// quoteArgs lists arguments as the shell would need them typed.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, " ")
}
