# Common tasks. `make test` runs on the embedded backends (SQLite, memory,
# local disk, log mail); `make test-services` runs the same suite against real
# PostgreSQL, Redis, MinIO and Mailpit started by scripts/services.sh.

GO ?= go
BIN := bin/accounts

.PHONY: run build test test-services lint services services-stop migrate bench docker-up

run:
	$(GO) run .

build:
	$(GO) build -o $(BIN) .

test:
	$(GO) test -race -count=1 ./...

test-services:
	scripts/test-services.sh

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt -l lists files that are not formatted (run gofmt -w):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi
	$(GO) vet ./...

services:
	scripts/services.sh

services-stop:
	scripts/services.sh stop

migrate:
	$(GO) run . migrate

bench:
	bash bench/run.sh

docker-up:
	docker compose up --build
