// Package utp stands in for github.com/anacrolix/go-utp, whose module zip
// the Go proxy refuses: anacrolix/torrent v1.62.0 imports it from its root
// package, so nothing builds without it. The benchmark peer turns uTP off,
// and every constructor here fails, so a uTP socket is never made.
package utp

import (
	"context"
	"errors"
	"log/slog"
	"net"
)

// Default names the implementation in anacrolix's error messages.
const Default = "uTP (unavailable: github.com/anacrolix/go-utp is stubbed)"

// ErrUnavailable is what every constructor returns.
var ErrUnavailable = errors.New("uTP unavailable: github.com/anacrolix/go-utp is replaced by a stub")

// FirewallCallback is go-utp's filter of incoming peers; true refuses one.
type FirewallCallback = func(net.Addr) bool

// Socket is the surface anacrolix/torrent uses of a uTP socket.
type Socket interface {
	net.PacketConn
	Accept() (net.Conn, error)
	Addr() net.Addr
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	SetFirewallCallback(FirewallCallback)
}

// Option configures a socket; the stub ignores every one.
type Option func()

// WithLogger is accepted and ignored: no socket is ever made to log.
func WithLogger(*slog.Logger) Option { return func() {} }

// NewSocket fails: uTP is unavailable.
func NewSocket(network, addr string, opts ...Option) (Socket, error) {
	return nil, ErrUnavailable
}

// NewSocketFromPacketConn fails: uTP is unavailable.
func NewSocketFromPacketConn(pc net.PacketConn, opts ...Option) (Socket, error) {
	return nil, ErrUnavailable
}
