package main

import "syscall"

// raiseFileLimit lifts the soft limit on open files to the hard limit, as
// other clients do at start: each peer costs a descriptor, and Debian's
// soft default of 1,024 runs out long before --max-peers does across
// torrents. It returns the limit in force afterwards.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}
