# syntax=docker/dockerfile:1

# The image ships the libvips build (-tags vips): it decodes a 12-megapixel
# JPEG avatar at reduced scale, several times faster than the pure-Go
# decoder (README, Performance). That needs cgo and Debian's libvips, so the
# binary is dynamic and the runtime is Debian slim with libvips42 instead of
# scratch; `go build .` without the tag still makes the static pure-Go binary.
# Base images are pinned so a rebuild uses the toolchain and runtime that were
# tested; the Go patch release matches go.mod's go line, and both stages are
# bookworm, so the binary runs against the libvips it was linked with (8.14).
FROM golang:1.26.8-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libvips-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -tags vips -trimpath -ldflags="-s -w" -o /out/accounts . \
    && mkdir -p /out/data

# Debian slim with the libvips runtime and the CA roots for TLS to SMTP, S3
# and PostgreSQL. No recommends: libvips42 pulls only the codecs it links.
FROM debian:12.12-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libvips42 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 nonroot \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /data --shell /usr/sbin/nologin nonroot
COPY --from=build /out/accounts /accounts
# DATA_DIR must be writable by the nonroot user (uid 65532): the embedded
# database, local uploads and the development JWT secret live there.
COPY --from=build --chown=65532:65532 /out/data /data
ENV DATA_DIR=/data \
    HTTP_ADDR=:8080
WORKDIR /data
USER 65532:65532
EXPOSE 8080
# The binary checks its own /healthz, so the image needs no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/accounts", "healthcheck"]
ENTRYPOINT ["/accounts"]
CMD ["serve"]
