package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsNamespace prefixes every metric of the API itself (the Go runtime
// and process collectors keep their usual names).
const MetricsNamespace = "accounts"

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
			Namespace: MetricsNamespace, Name: "http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
		codes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "auth_codes_total",
			Help: "One-time code events by purpose (issued, sent, mail_failed, mail_dropped, verified, failed, destroyed); for password resets only verified and failed, which an unknown email moves the same way.",
		}, []string{"purpose", "event"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.codes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CodeEvent counts one event of a code purpose. A password-reset code is
// issued and mailed only when the account exists, and only an existing code
// can be destroyed by wrong tries, while the API answers the same either way:
// counting those events would tell anyone who can read the metrics which
// emails have an account, so they are not counted.
func (m *Metrics) CodeEvent(purpose, event string) {
	if purpose == "password" && revealsAccount(event) {
		return
	}
	m.codes.WithLabelValues(purpose, event).Inc()
}

func revealsAccount(event string) bool {
	switch event {
	case "issued", "sent", "mail_failed", "mail_dropped", "destroyed":
		return true
	}
	return false
}

// Middleware records each request under its route pattern (not its raw path,
// which would give one series per user id) and its real status. An error is
// answered here, through the app's error handler, so the status it decides is
// the one counted; handlers after this one see the finished answer.
func (m *Metrics) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				c.Status(http.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		// Both come from the route table, not the request: Fiber reuses request
		// buffers, so strings read from the request must not outlive it.
		route := c.Route().Path
		method := c.Route().Method
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return nil
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() fiber.Handler {
	return adaptor.HTTPHandler(m.HTTPHandler())
}

// HTTPHandler is Handler for a plain net/http server (the METRICS_ADDR listener).
func (m *Metrics) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
