# syntax=docker/dockerfile:1

# Build a static binary: the app is pure Go (SQLite through modernc.org/sqlite),
# so it runs on an image without libc.
# Base images are pinned so a rebuild uses the toolchain and runtime that were
# tested; the Go patch release matches go.mod's go line.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/accounts . \
    && mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp

# scratch, plus the CA roots for TLS to SMTP, S3 and PostgreSQL: a static
# binary needs nothing else, and scratch has no version that could drift
# (distroless publishes no version tags, only digests).
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/accounts /accounts
# DATA_DIR must be writable by the nonroot user (uid 65532): the embedded
# database, local uploads and the development JWT secret live there.
COPY --from=build --chown=65532:65532 /out/data /data
ENV DATA_DIR=/data \
    HTTP_ADDR=:8080
WORKDIR /data
USER 65532:65532
EXPOSE 8080
# The image has no shell or curl, so the binary checks its own /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/accounts", "healthcheck"]
ENTRYPOINT ["/accounts"]
CMD ["serve"]
