//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The UDP load moves its datagrams with sendmmsg and recvmmsg on
// blocking sockets, a batch per system call: a load generator paying two
// system calls and a netpoller round per announce runs out of its one
// core before a fast tracker runs out of its own, and then measures
// itself.

const (
	genBatch = 64
	ringSize = 1 << 16 // outstanding requests a client can tell apart
)

// udpClient is one source port: a connected socket, its connection ID,
// and when each outstanding transaction was due.
type udpClient struct {
	c    *net.UDPConn
	fd   int
	cid  uint64
	w    int // index, for which peers it announces
	seq  uint32
	base uint32          // answers to transactions up to this one are stale
	due  [ringSize]int64 // scheduled send time by transaction ID
	out  [genBatch][98]byte
	in   [genBatch][2048]byte
	ohdr [genBatch]unix.Mmsghdr
	oiov [genBatch]unix.Iovec
	ihdr [genBatch]unix.Mmsghdr
	iiov [genBatch]unix.Iovec
	lat  hist
	// lag is how late sends left against their schedule (open loop).
	lag           hist
	ok, errs      int64
	sent, answers int64
}

func newUDPClients(n, port int) ([]*udpClient, error) {
	cls := make([]*udpClient, n)
	for w := range cls {
		uc, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			return nil, err
		}
		uc.SetReadBuffer(1 << 20)
		cid, err := udpConnect(uc, time.Second)
		if err != nil {
			uc.Close()
			return nil, fmt.Errorf("udp connect: %w", err)
		}
		cl := &udpClient{c: uc, cid: cid, w: w}
		rc, err := uc.SyscallConn()
		if err != nil {
			return nil, err
		}
		rc.Control(func(fd uintptr) {
			cl.fd = int(fd)
			syscall.SetNonblock(cl.fd, false)
			// Wake a receiver now and then, so it can see the load is over.
			unix.SetsockoptTimeval(cl.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000})
		})
		for i := range cl.out {
			cl.oiov[i].Base = &cl.out[i][0]
			cl.oiov[i].SetLen(len(cl.out[i]))
			cl.ohdr[i].Hdr.Iov, cl.ohdr[i].Hdr.Iovlen = &cl.oiov[i], 1
			cl.iiov[i].Base = &cl.in[i][0]
			cl.iiov[i].SetLen(len(cl.in[i]))
			cl.ihdr[i].Hdr.Iov, cl.ihdr[i].Hdr.Iovlen = &cl.iiov[i], 1
		}
		cls[w] = cl
	}
	return cls, nil
}

func closeClients(cls []*udpClient) {
	for _, cl := range cls {
		cl.c.Close()
	}
}

// fill writes the announce for torrent t, peer p into out[i] under the
// next transaction ID, due at due.
func (cl *udpClient) fill(c config, i, t, p int, due int64) {
	cl.seq++
	cl.due[cl.seq%ringSize] = due
	b := cl.out[i][:0]
	b = binary.BigEndian.AppendUint64(b, cl.cid)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, cl.seq)
	b = append(b, infoHash(t)...)
	b = append(b, peerID(t*c.peers+p)...)
	b = binary.BigEndian.AppendUint64(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(p%3)) // a third are seeds
	b = binary.BigEndian.AppendUint64(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 50)
	binary.BigEndian.AppendUint16(b, uint16(1024+p))
}

// send sends out[:n], all of them unless the socket fails.
func (cl *udpClient) send(n int) error {
	for done := 0; done < n; {
		m, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(cl.fd), uintptr(unsafe.Pointer(&cl.ohdr[done])), uintptr(n-done), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		done += int(m)
	}
	cl.sent += int64(n)
	return nil
}

// recv waits for at least one answer (or the receive timeout) and
// accounts for each: latency from when it was due. It returns how many
// answers came in.
func (cl *udpClient) recv(now func() int64) (int, error) {
	for i := range cl.ihdr {
		cl.ihdr[i].Len = 0
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(cl.fd), uintptr(unsafe.Pointer(&cl.ihdr[0])), genBatch, unix.MSG_WAITFORONE, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return 0, nil
	}
	if e != 0 {
		return 0, e
	}
	t := now()
	for i := range int(n) {
		r := cl.in[i][:cl.ihdr[i].Len]
		if len(r) < 8 {
			continue
		}
		cl.answers++
		if binary.BigEndian.Uint32(r) != 1 {
			cl.errs++
			continue
		}
		tid := binary.BigEndian.Uint32(r[4:])
		if int32(tid-cl.base) <= 0 {
			cl.answers--
			continue // late from an earlier load: not this one's
		}
		cl.ok++
		cl.lat.add(time.Duration(t - cl.due[tid%ringSize]))
	}
	return int(n), nil
}

func monoNow(start time.Time) func() int64 {
	return func() int64 { return int64(time.Since(start)) }
}

// warmUp announces every torrent's every peer once, so a measured load
// sees a full store and re-announces, as a tracker in service does,
// rather than mostly first announces.
func warmUp(c config, port int) error {
	cls, err := newUDPClients(8, port)
	if err != nil {
		return err
	}
	defer closeClients(cls)
	total := c.torrents * c.peers
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	now := monoNow(start)
	for _, cl := range cls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]int, 0, total/len(cls)+1)
			for i := cl.w; i < total; i += len(cls) {
				mine = append(mine, i)
			}
			for len(mine) > 0 {
				n := min(16, len(mine))
				for k, i := range mine[:n] {
					cl.fill(c, k, i/c.peers, i%c.peers, now())
				}
				if cl.send(n) != nil {
					failed.Add(1)
					return
				}
				mine = mine[n:]
				for got := 0; got < n; {
					m, err := cl.recv(now)
					if err != nil || m == 0 {
						break // a lost answer: the next batch goes on
					}
					got += m
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return errors.New("warm-up: sending failed")
	}
	return nil
}

// udpLoad is the closed loop: each of c.workers outstanding requests is
// replaced when it is answered, spread over clients of depth each, so
// the tracker is kept busy and its rate is its capacity.
func udpLoad(c config, port int) result {
	depth := max(1, min(c.depth, genBatch))
	cls, err := newUDPClients(max(1, c.workers/depth), port)
	if err != nil {
		return result{errors: 1, elapsed: time.Second}
	}
	defer closeClients(cls)
	var wg sync.WaitGroup
	start := time.Now()
	now := monoNow(start)
	end := int64(c.duration)
	budget := c.maxRequests / int64(len(cls))
	for _, cl := range cls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int64
			next := func(k int) {
				t, p := pick(c, cl.w, n)
				n++
				cl.fill(c, k, t, p, now())
			}
			for k := range depth {
				next(k)
			}
			if cl.send(depth) != nil {
				return
			}
			outstanding := depth
			for now() < end && n < budget {
				m, err := cl.recv(now)
				if err != nil {
					return
				}
				if m == 0 { // timed out: count the rest lost, start over
					cl.errs += int64(outstanding)
					m = depth
					outstanding = 0
				}
				outstanding -= min(m, outstanding)
				for k := range m {
					next(k)
				}
				if cl.send(m) != nil {
					return
				}
				outstanding += m
			}
		}()
	}
	wg.Wait()
	r := result{elapsed: time.Since(start)}
	for _, cl := range cls {
		r.requests += cl.ok + cl.errs
		r.errors += cl.errs
		r.hist.merge(&cl.lat)
	}
	return r
}
