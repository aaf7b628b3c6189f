package portmap

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"time"
)

// gateway is one router that can forward ports, found by one method.
type gateway interface {
	method() Method
	// where names the gateway for people: an IP or a host:port.
	where() string
	externalIP(ctx context.Context) (netip.Addr, error)
	// add asks for p to be forwarded from external for lease; it returns
	// the external port and lease granted (0: permanent).
	add(ctx context.Context, p Port, external uint16, lease time.Duration) (uint16, time.Duration, error)
	remove(ctx context.Context, p Port, external uint16) error
}

// errNoAnswer is a gateway that let a request time out.
var errNoAnswer = errors.New("no answer in time")

// finder looks for a gateway by one method.
type finder func(ctx context.Context) (gateway, error)

// Mapper keeps ports forwarded while it runs. Its one goroutine owns the
// mappings; Status and OnStatus tell what it achieved.
type Mapper struct {
	cfg    Config
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	status Status
}

// Start validates cfg and starts looking for a gateway in the background.
func Start(cfg Config) (*Mapper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mapper{cfg: cfg, cancel: cancel, done: make(chan struct{}), status: Status{State: StateSearching}}
	go m.run(ctx)
	return m, nil
}

// Status returns the latest status.
func (m *Mapper) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Close stops renewing and removes the mappings, waiting at most about
// CloseTimeout for the gateway: a router that has gone away must not
// hold up shoal's exit.
func (m *Mapper) Close() {
	m.cancel()
	<-m.done
}

func (m *Mapper) set(s Status) {
	m.mu.Lock()
	same := reflect.DeepEqual(m.status, s)
	m.status = s
	m.mu.Unlock()
	if same {
		return
	}
	m.cfg.Logger.Info("port forwarding", "status", s.String())
	if m.cfg.OnStatus != nil {
		m.cfg.OnStatus(s)
	}
}

func (m *Mapper) finders() []finder {
	var out []finder
	if m.cfg.UPnP {
		out = append(out, m.findUPnP)
	}
	if m.cfg.NATPMP {
		out = append(out, m.findNATPMP)
	}
	return out
}

func (m *Mapper) run(ctx context.Context) {
	defer close(m.done)
	if m.cfg.OnStatus != nil {
		m.cfg.OnStatus(m.Status()) // searching
	}
	failures := 0
	for {
		mapped, err := m.attempt(ctx)
		if ctx.Err() != nil {
			return
		}
		if mapped {
			failures = 0 // it worked until now: try again soon
		}
		failures++
		m.set(Status{State: StateFailed, Err: reason(err)})
		at := retryAt(time.Now(), failures, m.cfg.RetryMin, m.cfg.RetryMax)
		m.cfg.Logger.Debug("port forwarding: will try again", "at", at.Format(time.TimeOnly))
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// attempt tries each method in turn and holds the first gateway that
// maps a port until it stops renewing or ctx ends. It says whether a
// mapping was made, and why it gave up.
func (m *Mapper) attempt(ctx context.Context) (mapped bool, err error) {
	var why []string
	for _, find := range m.finders() {
		gw, err := find(ctx)
		if err == nil {
			var ok bool
			ok, err = m.hold(ctx, gw)
			mapped = mapped || ok
		}
		if ctx.Err() != nil {
			return mapped, ctx.Err()
		}
		why = append(why, err.Error())
	}
	return mapped, errors.New(strings.Join(why, "; "))
}

// hold maps every port on gw and renews the mappings until none is left
// or ctx ends; then it removes them.
func (m *Mapper) hold(ctx context.Context, gw gateway) (mapped bool, err error) {
	held := make([]Mapping, len(m.cfg.Ports))
	defer func() { m.removeAll(gw, held) }()
	for {
		next, err := m.mapAll(ctx, gw, held)
		if err != nil {
			return mapped, err
		}
		mapped = true
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return true, nil
		case <-t.C:
		}
	}
}

// mapAll asks gw for every port (again, to renew), keeping the external
// ports granted before, and reports the result. It returns when to renew,
// or an error when no port is forwarded.
func (m *Mapper) mapAll(ctx context.Context, gw gateway, held []Mapping) (time.Time, error) {
	st := Status{State: StateMapped, Method: gw.method(), Gateway: gw.where()}
	rctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout)
	ip, err := gw.externalIP(rctx)
	silent := rctx.Err() != nil || errors.Is(err, errNoAnswer)
	cancel()
	if err != nil {
		m.cfg.Logger.Debug("port forwarding: no external address", "gateway", gw.where(), "err", err)
	} else {
		st.ExternalIP = ip
	}
	var next time.Time
	var failed []Mapping
	for i, p := range m.cfg.Ports {
		if silent {
			// A gateway that let one request time out is not asked
			// the others: each would cost the same wait.
			held[i] = Mapping{Protocol: p.Protocol, Internal: p.Internal, Err: "no answer in time"}
			failed = append(failed, held[i])
			st.Mappings = append(st.Mappings, held[i])
			continue
		}
		want := p.Internal
		if held[i].External != 0 {
			want = held[i].External
		}
		rctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout)
		ext, lease, err := gw.add(rctx, p, want, m.cfg.Lease)
		silent = rctx.Err() != nil || errors.Is(err, errNoAnswer)
		cancel()
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		if err != nil {
			held[i] = Mapping{Protocol: p.Protocol, Internal: p.Internal, Err: reason(err)}
			failed = append(failed, held[i])
		} else {
			held[i] = Mapping{Protocol: p.Protocol, Internal: p.Internal, External: ext}
			if at := renewAt(time.Now(), lease); next.IsZero() || at.Before(next) {
				next = at
			}
		}
		st.Mappings = append(st.Mappings, held[i])
	}
	if !st.ExternalIP.IsValid() && !silent && !next.IsZero() {
		// PCP tells the address only in a mapping's answer.
		rctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout)
		if ip, err := gw.externalIP(rctx); err == nil {
			st.ExternalIP = ip
		}
		cancel()
	}
	if next.IsZero() {
		return time.Time{}, fmt.Errorf("%s gateway %s could not forward %s", gw.method().Label(), gw.where(), failures(failed))
	}
	if len(failed) > 0 {
		st.Err = "could not forward " + failures(failed)
	}
	m.set(st)
	return next, nil
}

// removeAll deletes the mappings in held, within CloseTimeout in all.
func (m *Mapper) removeAll(gw gateway, held []Mapping) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.CloseTimeout)
	defer cancel()
	for i, h := range held {
		if h.External == 0 {
			continue
		}
		if err := gw.remove(ctx, m.cfg.Ports[i], h.External); err != nil {
			m.cfg.Logger.Debug("port forwarding: removing a mapping", "protocol", h.Protocol, "port", h.External, "err", err)
		}
		held[i].External = 0
	}
}

// failures lists failed mappings, their reason said once when they share
// it (as they usually do: "TCP 6881, UDP 6881: no answer in time").
func failures(ms []Mapping) string {
	var ports, each []string
	same := true
	for _, m := range ms {
		ports = append(ports, fmt.Sprintf("%s %d", m.Protocol, m.Internal))
		each = append(each, fmt.Sprintf("%s %d: %s", m.Protocol, m.Internal, m.Err))
		same = same && m.Err == ms[0].Err
	}
	if same {
		return strings.Join(ports, ", ") + ": " + ms[0].Err
	}
	return strings.Join(each, "; ")
}
