// Package tracing sets up OpenTelemetry traces: an OTLP/HTTP exporter when
// an endpoint is configured, and nothing at all (a no-op provider, no
// goroutine) when it is not.
package tracing

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracing is the server's tracer provider and how to flush it.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	shutdown   func(context.Context) error
}

// New exports spans to endpointURL (OTEL_EXPORTER_OTLP_ENDPOINT, e.g.
// http://collector:4318) in batches; an empty URL turns tracing off.
func New(ctx context.Context, endpointURL, serviceName string) (*Tracing, error) {
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	if endpointURL == "" {
		return &Tracing{Provider: noop.NewTracerProvider(), Propagator: prop, shutdown: func(context.Context) error { return nil }}, nil
	}
	// OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; traces go to
	// its /v1/traces, as every OpenTelemetry SDK reads that variable.
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(endpointURL, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(serviceName))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{Provider: tp, Propagator: prop, shutdown: tp.Shutdown}, nil
}

// Shutdown flushes the spans still buffered.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }
