package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ServeMetrics serves /metrics on a listener of its own, so production can
// keep it off the public one; a failure of that listener stops the server
// through errc, like the main one.
func (s *Server) ServeMetrics(addr string, errc chan<- error) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.HTTPHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("METRICS_ADDR: %w", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}
