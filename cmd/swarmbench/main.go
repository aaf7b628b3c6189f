// Command swarmbench measures shoal against anacrolix/torrent on loopback
// in one run: a 1 seeder -> 1 leecher transfer of a generated file over
// TCP, repeated, the same over uTP (a smaller file: uTP on loopback is
// far slower), and a 1 seeder + 4 leechers swarm over TCP. Each peer is a process of its own, so
// CPU time and memory are measured per side. It prints medians and the
// ratios shoal/anacrolix; absolute times depend on the machine, ratios much
// less.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/shoal-torrent/shoal/piece/meta"
)

type config struct {
	size, piece      int64
	utpSize          int64 // 0: no uTP transfers
	runs             int
	shoal, anacrolix string
	work             string
	swarm            bool
	timeout          time.Duration
}

func main() {
	var c config
	var size, piece, utpSize string
	flag.StringVar(&size, "size", "1GiB", "size of the generated file")
	flag.StringVar(&utpSize, "utp-size", "256MiB", "size of the file moved over uTP (0: no uTP transfers)")
	flag.StringVar(&piece, "piece", "1MiB", "piece size")
	flag.IntVar(&c.runs, "runs", 3, "repetitions of the 1 -> 1 transfer")
	flag.StringVar(&c.shoal, "shoal", "bin/shoal", "shoal binary")
	flag.StringVar(&c.anacrolix, "anacrolix", "bin/anacrolix-peer", "anacrolix-peer binary")
	flag.StringVar(&c.work, "work", "", "work directory (default: a temporary one, removed after)")
	flag.BoolVar(&c.swarm, "swarm", true, "also time a 1 seeder + 4 leechers swarm")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up on a transfer after this")
	lat := latencyFlags(flag.CommandLine)
	flag.Parse()
	var err error
	if c.size, err = parseSize(size); err == nil {
		c.piece, err = parseSize(piece)
	}
	if err == nil && utpSize != "0" {
		c.utpSize, err = parseSize(utpSize)
	}
	if err == nil && lat.on {
		err = runLatency(c, *lat)
	} else if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarmbench:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	return int64(n), err
}

// result is one leecher's transfer.
type result struct {
	wall     time.Duration
	leechCPU time.Duration
	seedCPU  time.Duration
	peakRSS  int64 // bytes
	peakAnon int64 // bytes
}

func run(c config) error {
	work := c.work
	if work == "" {
		// On tmpfs when there is one: this machine's disk makes writes
		// erratic (the same 1 GiB dd takes 0.5 s or 3.5 s), which would
		// measure the disk rather than the clients.
		base := ""
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
		d, err := os.MkdirTemp(base, "swarmbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	src := filepath.Join(work, "src")
	tor, err := makeTorrent(filepath.Join(src, "big.bin"), filepath.Join(work, "big.torrent"), c.size, c.piece)
	if err != nil {
		return err
	}
	// shoal dials uTP first when it has it: the TCP rows turn it off.
	impls := []impl{shoalImpl{bin: c.shoal}, anacrolixImpl{bin: c.anacrolix}}
	// A warm-up transfer each, not measured: the first writes after the
	// file is generated find the kernel short of free pages, and whoever
	// went first would pay for it.
	for _, im := range impls {
		if _, err := transfer(c, im, tor, src, filepath.Join(work, "dl")); err != nil {
			return fmt.Errorf("%s warm-up: %w", im.name(), err)
		}
	}
	if err := oneToOne(c, impls, tor, src, work, c.size, "over TCP"); err != nil {
		return err
	}
	if c.utpSize > 0 {
		usrc := filepath.Join(work, "src-utp")
		utor, err := makeTorrent(filepath.Join(usrc, "big.bin"), filepath.Join(work, "utp.torrent"), c.utpSize, c.piece)
		if err != nil {
			return err
		}
		uimpls := []impl{shoalImpl{bin: c.shoal, utp: true}, anacrolixImpl{bin: c.anacrolix, utp: true}}
		if err := oneToOne(c, uimpls, utor, usrc, work, c.utpSize, "over uTP"); err != nil {
			return err
		}
	}

	if c.swarm {
		fmt.Printf("\n1 seeder + 4 leechers, %s\n", humanize.IBytes(uint64(c.size)))
		var times []time.Duration
		for _, im := range impls {
			d, err := swarmRun(c, im, tor, src, filepath.Join(work, "swarm"))
			if err != nil {
				return fmt.Errorf("%s swarm: %w", im.name(), err)
			}
			times = append(times, d)
			fmt.Printf("  %-9s all 4 complete in %s\n", im.name(), d.Round(time.Millisecond))
		}
		fmt.Printf("ratio shoal/anacrolix: swarm completion %.2fx faster\n", float64(times[1])/float64(times[0]))
	}
	return nil
}

// makeTorrent generates a file of size at path and a torrent of it.
func makeTorrent(path, torPath string, size, piece int64) (string, error) {
	fmt.Printf("generating %s (pieces of %s) in %s\n", humanize.IBytes(uint64(size)), humanize.IBytes(uint64(piece)), filepath.Dir(path))
	if err := generate(path, size); err != nil {
		return "", err
	}
	m, err := meta.Create(context.Background(), meta.CreateOptions{Path: path, PieceLength: piece})
	if err != nil {
		return "", err
	}
	f, err := os.Create(torPath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := m.Write(f); err != nil {
		return "", err
	}
	return torPath, f.Close()
}

// oneToOne times c.runs 1 seeder -> 1 leecher transfers of each impl,
// alternating who goes first, and prints the medians and the ratios of
// impls[0] to impls[1].
func oneToOne(c config, impls []impl, tor, src, work string, size int64, how string) error {
	results := map[string][]result{}
	for r := 1; r <= c.runs; r++ {
		order := impls
		if r%2 == 0 {
			order = []impl{impls[1], impls[0]} // alternate who goes first
		}
		for _, im := range order {
			res, err := transfer(c, im, tor, src, filepath.Join(work, "dl"))
			if err != nil {
				return fmt.Errorf("%s run %d: %w", im.name(), r, err)
			}
			fmt.Printf("  run %d %-13s %6.0f MiB/s  %s\n", r, im.name(), mibps(size, res.wall), res.wall.Round(time.Millisecond))
			results[im.name()] = append(results[im.name()], res)
		}
	}
	gib := float64(size) / (1 << 30)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("\n1 seeder -> 1 leecher %s, %s, median of %d runs\n", how, humanize.IBytes(uint64(size)), c.runs)
	fmt.Fprintln(tw, "impl\tMiB/s\tleecher CPU s/GiB\tseeder CPU s/GiB\tleecher peak RSS\tleecher peak anon\t")
	var med []result
	for _, im := range impls {
		rs := results[im.name()]
		m := result{
			wall:     median(rs, func(r result) float64 { return float64(r.wall) }),
			leechCPU: median(rs, func(r result) float64 { return float64(r.leechCPU) }),
			seedCPU:  median(rs, func(r result) float64 { return float64(r.seedCPU) }),
			peakRSS:  int64(median(rs, func(r result) float64 { return float64(r.peakRSS) })),
			peakAnon: int64(median(rs, func(r result) float64 { return float64(r.peakAnon) })),
		}
		med = append(med, m)
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%s\t%s\t\n", im.name(), mibps(size, m.wall), m.leechCPU.Seconds()/gib,
			m.seedCPU.Seconds()/gib, humanize.IBytes(uint64(m.peakRSS)), humanize.IBytes(uint64(m.peakAnon)))
	}
	tw.Flush()
	s, a := med[0], med[1]
	fmt.Printf("\nratios %s/%s: throughput %.2fx, leecher CPU %.2fx, seeder CPU %.2fx, leecher anon memory %.2fx\n\n",
		impls[0].name(), impls[1].name(),
		float64(a.wall)/float64(s.wall), float64(s.leechCPU)/float64(a.leechCPU), float64(s.seedCPU)/float64(a.seedCPU),
		float64(s.peakAnon)/float64(max(a.peakAnon, 1)))
	return nil
}

func mibps(size int64, d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }

func median(rs []result, f func(result) float64) time.Duration {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return time.Duration(v[len(v)/2])
}

// generate writes size pseudo-random bytes: incompressible, like media.
func generate(path string, size int64) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := rand.NewChaCha8([32]byte{'b', 'e', 'n', 'c', 'h'})
	buf := make([]byte, 4<<20)
	w := bufio.NewWriterSize(f, len(buf))
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		r.Read(buf[:n])
		w.Write(buf[:n])
		left -= n
	}
	return w.Flush()
}

// impl starts seeders and leechers of one implementation.
type impl interface {
	name() string
	seeder(tor, dir string, port int) *exec.Cmd
	leecher(tor, dir string, port int, peers []string, state string) *exec.Cmd
	// ready reports the line a seeder prints once it serves.
	ready(line string) bool
}

// shoalImpl runs shoal over TCP alone, or with utp as it runs by
// default: its dials then go over uTP first, which on loopback connect.
type shoalImpl struct {
	bin string
	utp bool
}

func (s shoalImpl) name() string {
	if s.utp {
		return "shoal-utp"
	}
	return "shoal"
}
func (s shoalImpl) transport() []string {
	if s.utp {
		return nil
	}
	return []string{"--no-utp"}
}
func (s shoalImpl) seeder(tor, dir string, port int) *exec.Cmd {
	args := []string{"seed", tor, "--dir", dir, "--port", strconv.Itoa(port), "--json", "--state-dir", filepath.Join(dir, ".state"), "--max-peers", "200", "--no-dht", "--no-port-forwarding"}
	return exec.Command(s.bin, append(args, s.transport()...)...)
}
func (s shoalImpl) leecher(tor, dir string, port int, peers []string, state string) *exec.Cmd {
	args := []string{"get", tor, "--dir", dir, "--no-seed", "--port", strconv.Itoa(port), "--json", "--state-dir", state, "--no-dht", "--no-port-forwarding"}
	for _, p := range peers {
		args = append(args, "--peer", p)
	}
	return exec.Command(s.bin, append(args, s.transport()...)...)
}
func (shoalImpl) ready(line string) bool {
	var ev struct{ Event, State string }
	return json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "progress" && ev.State == "seeding"
}

// anacrolixImpl runs anacrolix's client over TCP, or with utp over uTP
// alone.
type anacrolixImpl struct {
	bin string
	utp bool
}

func (a anacrolixImpl) name() string {
	if a.utp {
		return "anacrolix-utp"
	}
	return "anacrolix"
}
func (a anacrolixImpl) seeder(tor, dir string, port int) *exec.Cmd {
	return exec.Command(a.bin, "-torrent", tor, "-dir", dir, "-seed", "-port", strconv.Itoa(port), "-utp="+strconv.FormatBool(a.utp))
}
func (a anacrolixImpl) leecher(tor, dir string, port int, peers []string, state string) *exec.Cmd {
	return exec.Command(a.bin, "-torrent", tor, "-dir", dir, "-port", strconv.Itoa(port), "-peers", strings.Join(peers, ","), "-utp="+strconv.FormatBool(a.utp))
}
func (anacrolixImpl) ready(line string) bool { return strings.HasPrefix(line, "ready ") }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startSeeder starts a seeder and waits until it serves.
func startSeeder(im impl, tor, src string) (*exec.Cmd, int, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	cmd := im.seeder(tor, src, port)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if im.ready(sc.Text()) {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, port, nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, 0, errors.New("seeder exited before it was ready")
}

func stopSeeder(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func transfer(c config, im impl, tor, src, dl string) (result, error) {
	os.RemoveAll(dl)
	defer os.RemoveAll(dl)
	seeder, port, err := startSeeder(im, tor, src)
	if err != nil {
		return result{}, err
	}
	defer stopSeeder(seeder)
	seedBefore := procCPU(seeder.Process.Pid)
	lport, err := freePort()
	if err != nil {
		return result{}, err
	}
	leech := im.leecher(tor, dl, lport, []string{fmt.Sprintf("127.0.0.1:%d", port)}, filepath.Join(dl, ".state"))
	leech.Stderr = os.Stderr
	start := time.Now()
	if err := leech.Start(); err != nil {
		return result{}, err
	}
	var peakAnon int64
	stopPoll := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-t.C:
				peakAnon = max(peakAnon, procAnon(leech.Process.Pid))
			}
		}
	}()
	timer := time.AfterFunc(c.timeout, func() { leech.Process.Kill() })
	err = leech.Wait()
	timer.Stop()
	wall := time.Since(start)
	close(stopPoll)
	wg.Wait()
	if err != nil {
		return result{}, fmt.Errorf("leecher: %w", err)
	}
	res := result{wall: wall, leechCPU: leech.ProcessState.UserTime() + leech.ProcessState.SystemTime(), peakAnon: peakAnon,
		seedCPU: procCPU(seeder.Process.Pid) - seedBefore}
	if ru, ok := leech.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.peakRSS = ru.Maxrss * 1024
	}
	return res, nil
}

// swarmRun times 4 leechers that know the seeder and each other.
func swarmRun(c config, im impl, tor, src, work string) (time.Duration, error) {
	os.RemoveAll(work)
	defer os.RemoveAll(work)
	seeder, port, err := startSeeder(im, tor, src)
	if err != nil {
		return 0, err
	}
	defer stopSeeder(seeder)
	var ports []int
	for range 4 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		ports = append(ports, p)
	}
	start := time.Now()
	var cmds []*exec.Cmd
	for i, p := range ports {
		peers := []string{fmt.Sprintf("127.0.0.1:%d", port)}
		for j, q := range ports {
			if j != i {
				peers = append(peers, fmt.Sprintf("127.0.0.1:%d", q))
			}
		}
		dir := filepath.Join(work, strconv.Itoa(i))
		cmd := im.leecher(tor, dir, p, peers, filepath.Join(dir, ".state"))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		cmds = append(cmds, cmd)
	}
	var errs []error
	for _, cmd := range cmds {
		timer := time.AfterFunc(c.timeout, func() { cmd.Process.Kill() })
		errs = append(errs, cmd.Wait())
		timer.Stop()
	}
	return time.Since(start), errors.Join(errs...)
}

// procCPU is a process's user+system time so far, from /proc.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// procAnon is a process's resident anonymous memory, from /proc.
func procAnon(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "RssAnon:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
