package console

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Listen serves a console over ports on addr (plain HTTP; loopback is the
// default and the advice) and returns its stop. Users come from the
// htpasswd-style usersFile; without one, a one-time login token is made
// and logged (the operator's way in, as the daemon prints it).
func Listen(addr, usersFile string, ports Ports, log *slog.Logger) (func(context.Context), error) {
	if log == nil {
		log = slog.Default()
	}
	cfg := Config{Ports: ports, Log: log}
	if usersFile != "" {
		users, err := LoadUsers(usersFile)
		if err != nil {
			return nil, err
		}
		cfg.Users = users
	} else {
		cfg.Token = NewToken()
	}
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("--console %s: %w", addr, err)
	}
	url := "http://" + l.Addr().String() + "/"
	if host, _, _ := net.SplitHostPort(l.Addr().String()); !net.ParseIP(host).IsLoopback() {
		log.Warn("the console listens beyond loopback over plain HTTP: put a TLS proxy in front of it", "addr", l.Addr().String())
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	if cfg.Token != "" {
		log.Info("console listening; log in once with this token (or restart with --console-users FILE)", "url", url, "token", cfg.Token)
	} else {
		log.Info("console listening", "url", url, "users", len(cfg.Users))
	}
	return func(ctx context.Context) {
		s.Close()
		_ = srv.Shutdown(ctx)
	}, nil
}
