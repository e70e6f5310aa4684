package middleware

import (
	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// fiberCarrier reads trace headers (traceparent) from a Fiber request.
type fiberCarrier struct{ c *fiber.Ctx }

func (f fiberCarrier) Get(key string) string { return f.c.Get(key) }
func (f fiberCarrier) Set(string, string)    {}
func (f fiberCarrier) Keys() []string        { return nil }

// Trace starts one server span per request, continuing the caller's trace
// when it sends one, named after the route pattern and marked with the
// status the client got (it runs outside Metrics, which answers errors).
// The span rides in the request's context, so the flows can add children.
func Trace(tp trace.TracerProvider, prop propagation.TextMapPropagator) fiber.Handler {
	tracer := tp.Tracer("github.com/acme/accounts")
	return func(c *fiber.Ctx) error {
		ctx := prop.Extract(c.UserContext(), fiberCarrier{c})
		ctx, span := tracer.Start(ctx, c.Method(), trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		c.SetUserContext(ctx)
		err := c.Next()
		status := c.Response().StatusCode()
		reqID, _ := c.Locals("requestid").(string)
		span.SetName(c.Route().Method + " " + c.Route().Path)
		span.SetAttributes(
			attribute.String("http.request.method", c.Route().Method),
			attribute.String("http.route", c.Route().Path),
			attribute.Int("http.response.status_code", status),
			attribute.String("request.id", reqID),
		)
		if status >= 500 {
			span.SetStatus(codes.Error, "server error")
		}
		return err
	}
}
