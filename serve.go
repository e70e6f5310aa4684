package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/acme/accounts/app"
	"github.com/acme/accounts/config"
	"github.com/acme/accounts/internal/periodic"
	"github.com/acme/accounts/internal/server"
)

func loadConfig(getenv func(string) string) (*config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	if !cfg.Production() {
		if err := cfg.EnsureDevSecret(); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// runPurge erases self-deactivated accounts past ACCOUNT_PURGE_AFTER and
// retries leftover avatar objects, at start and every PURGE_INTERVAL.
func runPurge(ctx context.Context, a *app.App, every time.Duration, log *slog.Logger) {
	periodic.Run(ctx, every, func(ctx context.Context) {
		res, err := a.Purge(ctx)
		switch {
		case err != nil:
			log.ErrorContext(ctx, "purge failed; retried on the next run", "err", err)
		case res.Erased > 0 || res.ObjectsDeleted > 0 || res.ObjectsLeft > 0:
			log.InfoContext(ctx, "purge", "erased", res.Erased, "objects_deleted", res.ObjectsDeleted, "objects_left", res.ObjectsLeft)
		}
	})
}

func serve(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, stdout)
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	// Closed last: mails sent after their answer finish, then the backends close.
	defer srv.Close()
	a := srv.App
	purgeCtx, stopPurge := context.WithCancel(ctx)
	purgeDone := make(chan struct{})
	go func() { runPurge(purgeCtx, a, cfg.PurgeInterval, log); close(purgeDone) }()
	// The purge stops (and finishes its current step) before the backends close.
	defer func() { stopPurge(); <-purgeDone }()
	if err := seedAdmin(ctx, cfg, a, log); err != nil {
		return err
	}
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	defer stopCleanup()
	go cleanSessions(cleanupCtx, a, log, sessionCleanupInterval)
	// bcrypt runs one per core on low-priority threads (app.Passwords); as
	// many extra Ps let requests run beside them, and the kernel then gives
	// the request threads the CPU first. The pools were sized by cores.
	runtime.GOMAXPROCS(2 * srv.CPUSlots)

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "env", cfg.Env, "docs", "http://"+displayAddr(ln.Addr().String())+"/docs")

	errc := make(chan error, 2)
	if cfg.MetricsAddr != "" {
		stopMetrics, err := srv.ServeMetrics(cfg.MetricsAddr, errc)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
		log.Info("metrics", "addr", cfg.MetricsAddr)
	}
	go func() { errc <- srv.HTTP.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Readiness fails first, so a load balancer stops sending new requests;
	// then the listener closes and in-flight requests finish.
	srv.StartDraining()
	log.Info("shutting down", "drain", cfg.ShutdownDrain.String(), "timeout", cfg.ShutdownTimeout.String())
	select {
	case <-time.After(cfg.ShutdownDrain):
	case err := <-errc:
		return err
	}
	if err := srv.HTTP.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// sessionCleanupInterval is how often ended sessions are deleted. Ended
// sessions are refused by their expiry column at once; deleting them only
// keeps the table small, so every few minutes is plenty.
const sessionCleanupInterval = 10 * time.Minute

// cleanSessions deletes ended sessions at start and then every interval
// until ctx ends. Each run is a few batched deletes over the expiry index,
// so replicas running it at once only find less to do.
func cleanSessions(ctx context.Context, a *app.App, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.DeleteEndedSessions(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("session clean-up failed", "err", err)
		case n > 0:
			log.Info("ended sessions deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func displayAddr(addr string) string {
	if strings.HasPrefix(addr, "[::]:") || strings.HasPrefix(addr, "0.0.0.0:") {
		return "localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	return addr
}

func migrate(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	n, name, err := server.Migrate(ctx, cfg)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "applied %d migration(s) to %s\n", n, name)
	return err
}

// healthcheck lets a container without a shell or curl check itself.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	addr := getenv("HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("healthcheck: status " + resp.Status)
	}
	return nil
}
