package middleware

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the Prometheus registry of the server: per-route request counts
// and latencies, and code events per purpose.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	codes    *prometheus.CounterVec
}

// NewMetrics registers the collectors on a registry of its own (no global
// default registry, so tests can build many servers in one process).
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
		codes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_codes_total", Help: "One-time code events by purpose (issued, sent, mail_failed, mail_dropped, verified, failed, destroyed).",
		}, []string{"purpose", "event"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.codes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CodeEvent counts one event of a code purpose.
func (m *Metrics) CodeEvent(purpose, event string) {
	m.codes.WithLabelValues(purpose, event).Inc()
}

// Middleware records each request under its route pattern (not its raw path,
// which would give one series per user id).
func (m *Metrics) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			if fe, ok := err.(*fiber.Error); ok {
				status = fe.Code
			} else if status < 400 {
				status = 0 // decided by the error handler after this point
			}
		}
		// Both come from the route table, not the request: Fiber reuses request
		// buffers, so strings read from the request must not outlive it.
		route := c.Route().Path
		method := c.Route().Method
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}
