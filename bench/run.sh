#!/usr/bin/env bash
# bench/run.sh measures the API under load against baselines taken in the
# same run, and writes bench/results/latest.md (`make bench`).
#
#   1. starts or reuses PostgreSQL, Redis, MinIO and Mailpit (scripts/services.sh);
#   2. builds the server twice, pure Go (the default) and with -tags vips (the
#      libvips decoder the Docker image ships; only when `pkg-config --exists
#      vips`, otherwise its workloads report "skipped: libvips missing"), the
#      stack ceiling (bench/ceiling) and the tools;
#   3. recreates a database of its own, migrates it with `accounts migrate`,
#      seeds users with products by COPY and signs a token for each;
#   4. runs wrk (bench/lua/*.lua), each workload on a freshly started
#      production server so its peak RSS (VmHWM) is that workload's:
#        ceiling   GET me on bench/ceiling            ME_CONNS connections
#        me        GET /api/v1/users/me               ME_CONNS
#        login     POST /api/v1/auth/login            LOGIN_CONNS
#        register  POST /api/v1/auth/register         REGISTER_CONNS
#        avatar    PUT /api/v1/users/me/avatar        AVATAR_CONNS (skipped when the route is missing),
#                  a 12-megapixel JPEG (4000x3000, about 3 MiB), on the pure-Go server, then
#                  the same on the vips server (avatar_vips); both judged against one raw
#                  PutObject rate of the stored size
#        me_login  me while login runs on the same server
#        refresh_ceiling  POST refresh on bench/ceiling (one indexed UPDATE)  REFRESH_CONNS
#        refresh   POST /api/v1/auth/token/refresh (rotation)              REFRESH_CONNS
#        mem_bodies   150 slow 5 MiB bodies at once to POST /api/v1/auth/login (rawbench slowbodies)
#        mem_avatars  8 uploads at once of the costliest accepted avatar (rawbench avatars),
#                     on the build the Docker image ships (vips; pure Go when libvips is missing)
#        (the two memory bounds: peak RSS <= 250 MB, against the idle server's RSS)
#   5. measures the raw bcrypt compare rate (before login and after register)
#      and the raw MinIO PutObject rate;
#   6. takes CPU and allocation profiles of the server under `me` (PPROF=true);
#   7. with BENCH_MILLION=1 (or the workload `million`), seeds a million users
#      into a database of its own and measures every admin list request there
#      (p99 <= 50 ms) and GET me against a 10,000-user seed (see "million" below);
#   8. writes the report (bench/report) to bench/results/latest.md.
#
# Everything is configurable through the environment (defaults in brackets):
#   BENCH_DURATION [20s]  BENCH_WARMUP [3s]  BENCH_THREADS [2]
#   BENCH_ME_CONNS [64]  BENCH_REFRESH_CONNS [64]  BENCH_LOGIN_CONNS [16]  BENCH_REGISTER_CONNS [16]  BENCH_AVATAR_CONNS [8]
#   BENCH_USERS [10000]  BENCH_PRODUCTS [5]  BCRYPT_COST [10]
#   BENCH_RAW_DURATION [5s]  BENCH_PROFILE_SECONDS [10]  BENCH_WRK_TIMEOUT [30s]
#   BENCH_WORKLOADS ["ceiling me refresh_ceiling refresh login register avatar mem_bodies mem_avatars me_login profile"]
#   BENCH_PORT [18080]  BENCH_CEILING_PORT [18081]  BENCH_POOL_SIZE [4 x cores, as models.Open]
#   BENCH_DB [accounts_bench]  BENCH_REDIS_DB [11]  BENCH_BUCKET [bench-avatars]
#   BENCH_WORK [bench/results/work.raw]  BENCH_REPORT [bench/results/latest.md]
#   BENCH_MAIL [sink]  where login/register mail their codes: sink (rawbench smtpsink) or mailpit
#   BENCH_MILLION [0]  1 adds the million workload (about 10 minutes more on 2 cores)
#   BENCH_MILLION_USERS [1000000]  BENCH_MILLION_PRODUCTS [2]  BENCH_MILLION_SAMPLE [10000]
#   BENCH_MILLION_CURSOR_DEPTH [500000]  BENCH_MILLION_ROUNDS [2]  BENCH_ADMIN_CONNS [4]
#   BENCH_MILLION_DB [accounts_bench_million]  BENCH_MILLION_KEEP [0]  1 keeps its databases
#   BENCH_SERVER_DB_PARAMS [none]  extra DATABASE_URL parameters for the API server only, to try a
#                          driver setting without a code change (e.g. default_query_exec_mode=exec)
#
# Raw results, logs, tokens and profiles stay in BENCH_WORK (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${BENCH_DURATION:-20s}
WARMUP=${BENCH_WARMUP:-3s}
THREADS=${BENCH_THREADS:-2}
ME_CONNS=${BENCH_ME_CONNS:-64}
REFRESH_CONNS=${BENCH_REFRESH_CONNS:-64}
LOGIN_CONNS=${BENCH_LOGIN_CONNS:-16}
REGISTER_CONNS=${BENCH_REGISTER_CONNS:-16}
AVATAR_CONNS=${BENCH_AVATAR_CONNS:-8}
USERS=${BENCH_USERS:-10000}
PRODUCTS=${BENCH_PRODUCTS:-5}
COST=${BCRYPT_COST:-10}
RAW_DURATION=${BENCH_RAW_DURATION:-5s}
PROFILE_SECONDS=${BENCH_PROFILE_SECONDS:-10}
WRK_TIMEOUT=${BENCH_WRK_TIMEOUT:-30s}
WORKLOADS=" ${BENCH_WORKLOADS:-ceiling me refresh_ceiling refresh login register avatar mem_bodies mem_avatars me_login profile} "
[[ ${BENCH_MILLION:-0} != 1 || $WORKLOADS == *" million "* ]] || WORKLOADS+="million "
MILLION_USERS=${BENCH_MILLION_USERS:-1000000}
MILLION_PRODUCTS=${BENCH_MILLION_PRODUCTS:-2}
MILLION_SAMPLE=${BENCH_MILLION_SAMPLE:-10000}
MILLION_CURSOR_DEPTH=${BENCH_MILLION_CURSOR_DEPTH:-500000}
MILLION_ROUNDS=${BENCH_MILLION_ROUNDS:-2}
MILLION_DB=${BENCH_MILLION_DB:-accounts_bench_million}
ADMIN_CONNS=${BENCH_ADMIN_CONNS:-4}
PORT=${BENCH_PORT:-18080}
CEILING_PORT=${BENCH_CEILING_PORT:-18081}
POOL_SIZE=${BENCH_POOL_SIZE:-}
DB_NAME=${BENCH_DB:-accounts_bench}
REDIS_DB=${BENCH_REDIS_DB:-11}
BUCKET=${BENCH_BUCKET:-bench-avatars}
WORK=${BENCH_WORK:-bench/results/work.raw}
REPORT=${BENCH_REPORT:-bench/results/latest.md}
PASSWORD="correct horse battery"
RUN_ID=$(date +%s)

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}
wants() { [[ $WORKLOADS == *" $1 "* ]]; }

# --- processes this script starts, ended on any exit -----------------------

PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() { # forget_pid PID: drop an ended process from PIDS
	local keep=() p
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# --- prerequisites -----------------------------------------------------------

command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || die "Go is not installed"
if ! command -v wrk >/dev/null; then
	[[ $(id -u) -eq 0 ]] || die "wrk is missing; install it with: sudo apt-get install -y wrk"
	log "installing wrk (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2 || die "apt-get install wrk failed"
fi
command -v curl >/dev/null || die "curl is missing"

log "starting or reusing services (scripts/services.sh)"
services_env=$(scripts/services.sh) || die "scripts/services.sh failed (see above)"
eval "$services_env"
command -v psql >/dev/null || die "psql is missing (scripts/services.sh installs postgresql)"

mkdir -p "$WORK" "$(dirname "$REPORT")"
# Absolute: the bench tools are built from inside bench/ (a module of its own).
WORK=$(cd "$WORK" && pwd)
rm -f "$WORK"/*.json "$WORK"/*.meta "$WORK"/*.txt "$WORK"/*.log "$WORK"/*.pprof "$WORK"/*.cpu* "$WORK"/*.times
NOTES=$WORK/notes.txt
: >"$NOTES"

# URLs of the run's own database, Redis db and bucket on the shared services.
pg_base=${TEST_DATABASE_URL%%\?*}
pg_query=${TEST_DATABASE_URL#"$pg_base"}
DB_URL=${pg_base%/*}/$DB_NAME$pg_query
SERVER_DB_URL=$DB_URL
if [[ -n ${BENCH_SERVER_DB_PARAMS:-} ]]; then
	[[ $SERVER_DB_URL == *\?* ]] && SERVER_DB_URL+="&$BENCH_SERVER_DB_PARAMS" || SERVER_DB_URL+="?$BENCH_SERVER_DB_PARAMS"
fi
REDIS_URL=${TEST_REDIS_URL%/*}/$REDIS_DB
S3_PUBLIC_URL=http://$TEST_S3_ENDPOINT/$BUCKET
SMTP_HOST=${TEST_SMTP_ADDR%:*}
SMTP_PORT=${TEST_SMTP_ADDR##*:}
# A fresh secret per run: the seeded tokens are signed with it. Base64, not
# hex: production refuses a secret with fewer than 16 distinct bytes, which
# 64 hex digits are about one time in four. SMTP_HOST above points the
# production servers at Mailpit, since production refuses to start without it.
JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
[[ ${#JWT_SECRET} -eq 64 ]] || die "could not draw a JWT secret"

CORES=$(nproc)
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)

# --- build -------------------------------------------------------------------

BIN=$WORK/bin
mkdir -p "$BIN"
log "building the server and the bench tools"
go build -o "$BIN/accounts" . || die "go build of the server failed"
# The libvips build, what the Dockerfile ships. SHIPPED_BIN is the build the
# memory bound is judged on: the vips one, or pure Go when libvips is missing.
VIPS_BIN=
VIPS_NOTE="libvips missing"
SHIPPED_BIN=$BIN/accounts
SHIPPED_BUILD="pure Go (libvips missing; the Docker image ships the vips build)"
if command -v pkg-config >/dev/null && pkg-config --exists vips; then
	log "building the server with -tags vips (libvips $(pkg-config --modversion vips))"
	CGO_ENABLED=1 go build -tags vips -o "$BIN/accounts-vips" . || die "go build -tags vips of the server failed"
	VIPS_BIN=$BIN/accounts-vips
	VIPS_NOTE="libvips $(pkg-config --modversion vips)"
	SHIPPED_BIN=$VIPS_BIN
	SHIPPED_BUILD="vips (libvips $(pkg-config --modversion vips)), as the Docker image"
else
	log "libvips missing (pkg-config --exists vips failed): the vips workloads are skipped"
fi
# The tools are a Go module of their own (bench/go.mod), so the product's
# go.mod holds only what the product uses.
for tool in ceiling seed rawbench report; do
	(cd bench && go build -o "$BIN/$tool" "./$tool") || die "go build ./bench/$tool failed"
done
GO_VERSION=$(go env GOVERSION)

# --- database ----------------------------------------------------------------

[[ $DB_NAME =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
log "recreating database $DB_NAME"
psql -w -X -q "$TEST_DATABASE_URL" -v ON_ERROR_STOP=1 \
	-c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME" >&2 ||
	die "could not recreate database $DB_NAME"

# server_env prints the production configuration every server of the run gets.
# All load comes from one address, so the per-address limit of the auth routes
# is raised out of reach (not turned off: its cost stays in the numbers), as is
# the resend cooldown, which would answer 429 to a repeated email.
server_env() {
	printf '%s\n' \
		APP_ENV=production LOG_LEVEL=warn "JWT_SECRET=$JWT_SECRET" "HTTP_ADDR=127.0.0.1:$PORT" \
		"DATABASE_URL=$SERVER_DB_URL" "REDIS_URL=$REDIS_URL" MIGRATE_ON_START=false "DATA_DIR=$WORK/data" \
		"S3_ENDPOINT=$TEST_S3_ENDPOINT" "S3_ACCESS_KEY=$TEST_S3_ACCESS_KEY" "S3_SECRET_KEY=$TEST_S3_SECRET_KEY" \
		"S3_BUCKET=$BUCKET" "S3_PUBLIC_URL=$S3_PUBLIC_URL" \
		"SMTP_HOST=$SMTP_HOST" "SMTP_PORT=$SMTP_PORT" MAIL_FROM=bench@example.com \
		"BCRYPT_COST=$COST" CODE_RESEND_COOLDOWN=0s ADMIN_EMAIL= ADMIN_PASSWORD= CORS_ORIGINS= \
		AUTH_RATE_LIMIT=1000000 AVATAR_RATE_LIMIT=1000000
}
mapfile -t SERVER_ENV < <(server_env)

log "migrating $DB_NAME"
env "${SERVER_ENV[@]}" "$BIN/accounts" migrate >&2 || die "accounts migrate failed"
log "seeding $USERS users with $PRODUCTS products each"
TOKENS=$WORK/tokens.txt
EMAILS=$WORK/emails.txt
REFRESH=$WORK/refresh.txt
REFRESH_CEILING=$WORK/refresh-ceiling.txt
DATABASE_URL=$DB_URL JWT_SECRET=$JWT_SECRET "$BIN/seed" -users "$USERS" -products "$PRODUCTS" \
	-password "$PASSWORD" -cost "$COST" -tokens "$TOKENS" -emails "$EMAILS" \
	-refresh "$REFRESH,$REFRESH_CEILING" || die "seeding failed"
# A phone photo: 12 megapixels, about 3 MiB (AVATAR_MAX_BYTES is 5 MiB).
JPEG=$WORK/avatar.jpg
JPEG_W=4000 JPEG_H=3000
"$BIN/rawbench" jpeg -out "$JPEG" -width "$JPEG_W" -height "$JPEG_H" -target $((3 << 20)) >&2

export BENCH_LUA=$ROOT/bench/lua BENCH_TOKENS=$TOKENS BENCH_EMAILS=$EMAILS BENCH_JPEG=$JPEG BENCH_THREADS=$THREADS \
	BENCH_REFRESH=$REFRESH BENCH_REFRESH_CEILING=$REFRESH_CEILING \
	BENCH_PASSWORD=$PASSWORD BENCH_RUN_ID=$RUN_ID
export S3_ENDPOINT=$TEST_S3_ENDPOINT S3_ACCESS_KEY=$TEST_S3_ACCESS_KEY S3_SECRET_KEY=$TEST_S3_SECRET_KEY

# --- servers -----------------------------------------------------------------

SERVER_PID=
SERVER_BIN=$BIN/accounts # the build start_server runs
wait_healthy() { # wait_healthy URL PID LOG
	local deadline=$((SECONDS + 30))
	until curl -fs -o /dev/null --max-time 1 "$1"; do
		if ! kill -0 "$2" 2>/dev/null; then
			tail -n 20 "$3" >&2 || true
			die "the server exited during start-up (log: $3)"
		fi
		((SECONDS < deadline)) || die "no answer from $1 within 30s (log: $3)"
		sleep 0.2
	done
}

# port_free refuses a port something else answers on: its /healthz would
# pass for the server this script starts.
port_free() {
	if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; then
		die "port $1 is already in use; set BENCH_PORT / BENCH_CEILING_PORT"
	fi
}

start_server() { # start_server NAME [VAR=VALUE...]: a fresh API server
	local name=$1
	shift
	port_free "$PORT"
	env "${SERVER_ENV[@]}" "$@" "$SERVER_BIN" serve >"$WORK/$name.server.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	wait_healthy "http://127.0.0.1:$PORT/healthz" "$SERVER_PID" "$WORK/$name.server.log"
}

start_ceiling() {
	local extra=()
	[[ -z $POOL_SIZE ]] || extra=("POOL_SIZE=$POOL_SIZE")
	port_free "$CEILING_PORT"
	env DATABASE_URL="$DB_URL" JWT_SECRET="$JWT_SECRET" HTTP_ADDR="127.0.0.1:$CEILING_PORT" "${extra[@]}" \
		"$BIN/ceiling" >"$WORK/ceiling.server.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	wait_healthy "http://127.0.0.1:$CEILING_PORT/healthz" "$SERVER_PID" "$WORK/ceiling.server.log"
}

stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	forget_pid "$SERVER_PID"
	SERVER_PID=
}

peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# memory_run NAME TOOL-ARGS...: a fresh server, its idle RSS, one rawbench
# load whose answers go to NAME.json, and the server's peak RSS under it.
memory_run() {
	local name=$1
	shift
	start_server "$name"
	sleep 1
	local idle
	idle=$(rss_kb "$SERVER_PID")
	log "$name: rawbench $*"
	"$BIN/rawbench" "$@" >"$WORK/$name.json" || die "rawbench $1 failed"
	printf 'rss_kb=%s\nidle_rss_kb=%s\n' "$(peak_rss_kb "$SERVER_PID")" "$idle" >"$WORK/$name.meta"
	stop_server
}

# cpu_by_comm prints "command cpu-ticks" summed over every live process, and
# "_machine_busy ticks" from /proc/stat (which also counts processes that
# ended), so the CPU each program spent in a workload is the difference of
# two snapshots.
cpu_by_comm() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{
		c = substr($0, index($0, "(") + 1); c = substr(c, 1, index(c, ")") - 1); gsub(/ /, "_", c)
		rest = substr($0, index($0, ") ") + 2); split(rest, f, " ")
		t[c] += f[12] + f[13]
	} END { for (c in t) print c, t[c] }'
	awk '$1 == "cpu" { print "_machine_busy", $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# cpu_note appends where the CPU went between two snapshots to the notes;
# wrk has exited by the second one, so its time comes from its .cpu file.
cpu_note() { # cpu_note TITLE BEFORE_FILE AFTER_FILE SECONDS [WRK_CPU_FILE...]
	local title=$1 before=$2 after=$3 secs=$4 hz wrk_cpu=0 f
	shift 4
	for f in "$@"; do
		[[ -s $f ]] && wrk_cpu=$(awk -v a="$wrk_cpu" '{ print a + $1 }' "$f")
	done
	hz=$(getconf CLK_TCK)
	# Programs of the benchmark itself; CPU taken by anything else (other
	# builds or tests on the machine) makes the row noisy, and is flagged.
	awk -v title="$title" -v hz="$hz" -v secs="$secs" -v cores="$CORES" -v wrk="$wrk_cpu" \
		-v ours='^(accounts|accounts-vips|ceiling|postgres|wrk|mailpit|rawbench|minio|redis-server|kworker.*|kdamond.*|ksoftirqd.*|rcu_.*|migration.*)$' '
		NR == FNR { before[$1] = $2; next }
		{ d = ($2 - before[$1]) / hz; if ($1 == "_machine_busy") busy = d; else if (d > 0) { live += d; if (d >= 0.1 && $1 !~ /^kworker/) used[$1] = d } }
		END {
			used["wrk"] += wrk
			gone = busy - live - wrk
			if (gone >= 0.1) used["(processes that ended)"] = gone
			n = 0
			for (c in used) if (used[c] >= 0.1) names[++n] = c
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (used[names[j]] > used[names[i]]) { t = names[i]; names[i] = names[j]; names[j] = t }
			line = sprintf("- CPU-s during %s (%d s x %d cores = %d available; machine busy %.1f): ", title, secs, cores, secs * cores, busy)
			for (i = 1; i <= n && i <= 7; i++) line = line sprintf("%s%s %.1f", (i > 1 ? ", " : ""), names[i], used[names[i]])
			foreign = 0
			for (c in used) if (c !~ ours) foreign += used[c]
			if (foreign > 0.1 * secs * cores)
				line = line sprintf(". **Noisy:** other programs took %.1f CPU-s (%.0f%%) during this run", foreign, 100 * foreign / (secs * cores))
			print line
		}' "$before" "$after" >>"$NOTES"
}

seconds_of() { # seconds_of 20s -> 20 (whole seconds, as wrk durations are)
	awk -v d="$1" 'BEGIN {
		n = d + 0
		if (d ~ /ms$/) n /= 1000; else if (d ~ /m$/) n *= 60; else if (d ~ /h$/) n *= 3600
		printf "%d\n", n + 0.5
	}'
}

# wrk_run NAME SCRIPT CONNS DURATION URL: one wrk run whose summary goes to
# $WORK/NAME.json (written by done() in bench/lua/common.lua) and whose own
# CPU seconds go to $WORK/NAME.cpu (the load generator shares the cores).
wrk_run() {
	local name=$1 script=$2 conns=$3 duration=$4 url=$5 threads=$THREADS
	((threads <= conns)) || threads=$conns
	if ! (
		# The run id names the wrk run too: register's emails must not repeat
		# the warm-up's, or a repeat meets its pending sign-up and costs a
		# second bcrypt (the comparison that guards a pending sign-up).
		BENCH_OUT=$WORK/$name.json BENCH_RUN_ID=$RUN_ID-$name wrk -t"$threads" -c"$conns" -d"$duration" --timeout "$WRK_TIMEOUT" \
			-s "bench/lua/$script.lua" "$url" >"$WORK/$name.wrk.txt" 2>&1 || exit 1
		# Not in a pipeline: there `times` would run in a subshell without children.
		times >"$WORK/$name.times"
		awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); s += p[1] * 60 + p[2] } print s }' \
			"$WORK/$name.times" >"$WORK/$name.cpu"
	); then
		cat "$WORK/$name.wrk.txt" >&2
		die "wrk failed for $name"
	fi
	[[ -s $WORK/$name.json ]] || die "wrk wrote no summary for $name (see $WORK/$name.wrk.txt)"
}

warmup() { # warmup SCRIPT CONNS URL
	[[ $WARMUP == 0* ]] && return 0
	wrk_run warmup "$1" "$2" "$WARMUP" "$3"
	rm -f "$WORK/warmup.json"
}

# measure NAME SCRIPT CONNS URL: warm-up, measured run, CPU split and peak RSS.
measure() {
	local name=$1 script=$2 conns=$3 url=$4
	warmup "$script" "$conns" "$url"
	cpu_by_comm >"$WORK/$name.cpu0"
	log "$name: wrk $script, $conns connections, $DURATION"
	wrk_run "$name" "$script" "$conns" "$DURATION" "$url"
	cpu_by_comm >"$WORK/$name.cpu1"
	cpu_note "$name" "$WORK/$name.cpu0" "$WORK/$name.cpu1" "$(seconds_of "$DURATION")" "$WORK/$name.cpu"
	printf 'conns=%s\nrss_kb=%s\n' "$conns" "$(peak_rss_kb "$SERVER_PID")" >"$WORK/$name.meta"
	summary "$name"
}

summary() {
	awk -v n="$1" 'match($0, /"rps":[0-9.]+/) { r = substr($0, RSTART + 6, RLENGTH - 6) }
		match($0, /"p99":[0-9]+/) { p = substr($0, RSTART + 6, RLENGTH - 6) }
		END { printf "[bench] %s: %.1f req/s, p99 %.2f ms\n", n, r, p / 1000 }' "$WORK/$1.json" >&2
}

skip() { printf 'conns=%s\nskipped=%s\n' "$2" "$3" >"$WORK/$1.meta"; }

API=http://127.0.0.1:$PORT

# --- workloads ---------------------------------------------------------------

if wants ceiling; then
	start_ceiling
	measure ceiling me "$ME_CONNS" "http://127.0.0.1:$CEILING_PORT"
	stop_server
fi

if wants me; then
	start_server me
	measure me me "$ME_CONNS" "$API"
	stop_server
fi

# Refresh rotates each seeded session's token; the ceiling and the server get
# sessions of their own (refresh.lua hands each answer's token back), and no
# warm-up, which would rotate tokens outside the measured run for nothing.
if wants refresh_ceiling; then
	start_ceiling
	cpu_by_comm >"$WORK/refresh_ceiling.cpu0"
	log "refresh_ceiling: wrk refresh, $REFRESH_CONNS connections, $DURATION"
	BENCH_REFRESH_VAR=BENCH_REFRESH_CEILING wrk_run refresh_ceiling refresh "$REFRESH_CONNS" "$DURATION" "http://127.0.0.1:$CEILING_PORT"
	cpu_by_comm >"$WORK/refresh_ceiling.cpu1"
	cpu_note refresh_ceiling "$WORK/refresh_ceiling.cpu0" "$WORK/refresh_ceiling.cpu1" "$(seconds_of "$DURATION")" "$WORK/refresh_ceiling.cpu"
	printf 'conns=%s\nrss_kb=%s\n' "$REFRESH_CONNS" "$(peak_rss_kb "$SERVER_PID")" >"$WORK/refresh_ceiling.meta"
	summary refresh_ceiling
	stop_server
fi

if wants refresh; then
	start_server refresh
	cpu_by_comm >"$WORK/refresh.cpu0"
	log "refresh: wrk refresh, $REFRESH_CONNS connections, $DURATION"
	wrk_run refresh refresh "$REFRESH_CONNS" "$DURATION" "$API"
	cpu_by_comm >"$WORK/refresh.cpu1"
	cpu_note refresh "$WORK/refresh.cpu0" "$WORK/refresh.cpu1" "$(seconds_of "$DURATION")" "$WORK/refresh.cpu"
	printf 'conns=%s\nrss_kb=%s\n' "$REFRESH_CONNS" "$(peak_rss_kb "$SERVER_PID")" >"$WORK/refresh.meta"
	summary refresh
	stop_server
fi

# raw_bcrypt FILE: the bcrypt baseline, taken next to the workloads judged by
# it (before login, after register) because other load on the machine moves it.
raw_bcrypt() {
	wants login || wants register || wants me_login || return 0
	log "raw bcrypt compare rate at cost $COST, $RAW_DURATION"
	"$BIN/rawbench" bcrypt -cost "$COST" -duration "$RAW_DURATION" >"$WORK/$1" || die "raw bcrypt measurement failed"
}

raw_bcrypt bcrypt.json

# start_mail_sink: the workloads that mail a code per request (login,
# register, login under me) send it to `rawbench smtpsink`, which accepts and
# discards it. Mailpit parses, stores and indexes every message (about 5% of
# the machine under login), on the very cores the server is measured on,
# while a production relay does that elsewhere; the server's own mail work
# (rendering, the SMTP conversation) stays in the figures. BENCH_MAIL=mailpit
# keeps the capture instead.
MAIL_ENV=()
start_mail_sink() {
	[[ ${#MAIL_ENV[@]} -eq 0 && ${BENCH_MAIL:-sink} == sink ]] || return 0
	local port=$((PORT + 25))
	port_free "$port"
	"$BIN/rawbench" smtpsink -addr "127.0.0.1:$port" >"$WORK/smtpsink.json" 2>"$WORK/smtpsink.log" &
	PIDS+=("$!")
	local deadline=$((SECONDS + 10))
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		((SECONDS < deadline)) || die "the SMTP sink did not start (log: $WORK/smtpsink.log)"
		sleep 0.1
	done
	MAIL_ENV=(SMTP_HOST=127.0.0.1 "SMTP_PORT=$port")
	log "code mail goes to the SMTP sink on 127.0.0.1:$port"
}

if wants login; then
	start_mail_sink
	start_server login "${MAIL_ENV[@]}"
	measure login login "$LOGIN_CONNS" "$API"
	stop_server
fi

if wants register; then
	start_mail_sink
	start_server register "${MAIL_ENV[@]}"
	measure register register "$REGISTER_CONNS" "$API"
	stop_server
fi

raw_bcrypt bcrypt-after.json

# avatar_run NAME: the avatar workload on a fresh server of SERVER_BIN.
avatar_run() {
	local name=$1 token status
	start_server "$name"
	token=$(head -n 1 "$TOKENS")
	status=$(curl -s -o "$WORK/$name.probe.txt" -w '%{http_code}' --max-time 30 -X PUT \
		-H "Authorization: Bearer $token" -F "avatar=@$JPEG;type=image/jpeg" "$API/api/v1/users/me/avatar" || true)
	if [[ $status == 404 || $status == 405 ]]; then
		log "$name: PUT /api/v1/users/me/avatar answered $status; skipped: route missing"
		skip "$name" "$AVATAR_CONNS" "route missing (PUT /api/v1/users/me/avatar answered $status)"
	else
		[[ $status == 2* ]] || log "$name: probe answered $status: $(head -c 300 "$WORK/$name.probe.txt")"
		measure "$name" avatar "$AVATAR_CONNS" "$API"
	fi
	stop_server
}

if wants avatar; then
	"$BIN/rawbench" empty -bucket "$BUCKET" >&2 || log "could not empty bucket $BUCKET; continuing"
	avatar_run avatar
	if [[ -n $VIPS_BIN ]]; then
		# Emptied again, so the bucket's first object, whose size the raw
		# PutObject baseline takes, is what the shipped build stores.
		"$BIN/rawbench" empty -bucket "$BUCKET" >&2 || log "could not empty bucket $BUCKET; continuing"
		SERVER_BIN=$VIPS_BIN avatar_run avatar_vips
	else
		skip avatar_vips "$AVATAR_CONNS" "libvips missing"
	fi

	# The stored avatar's size comes from the bucket the avatar workload filled;
	# without it (route missing), the upload's own size.
	log "raw PutObject rate, $AVATAR_CONNS workers, $RAW_DURATION"
	"$BIN/rawbench" put -bucket "bench-raw-put-$RUN_ID" -size-from "$BUCKET" -size "$(stat -c %s "$JPEG")" \
		-workers "$AVATAR_CONNS" -duration "$RAW_DURATION" >"$WORK/put.json" || die "raw PutObject measurement failed"
	"$BIN/rawbench" empty -bucket "$BUCKET" >&2 || true
fi

if wants mem_bodies; then
	memory_run mem_bodies slowbodies -url "$API/api/v1/auth/login" -conns 150 -size $((5 << 20))
fi

if wants mem_avatars; then
	"$BIN/rawbench" empty -bucket "$BUCKET" >&2 || true
	SERVER_BIN=$SHIPPED_BIN memory_run mem_avatars avatars -url "$API/api/v1/users/me/avatar" -tokens "$TOKENS" -conns 8 -rounds 2
	printf 'build=%s\n' "$SHIPPED_BUILD" >>"$WORK/mem_avatars.meta"
	"$BIN/rawbench" empty -bucket "$BUCKET" >&2 || true
fi

if wants me_login; then
	start_mail_sink
	start_server me_login "${MAIL_ENV[@]}"
	warmup me "$ME_CONNS" "$API"
	lsecs=$(($(seconds_of "$DURATION") + 4))
	log "login_me: wrk login, $LOGIN_CONNS connections, ${lsecs}s, in the background"
	wrk_run login_me login "$LOGIN_CONNS" "${lsecs}s" "$API" &
	login_pid=$!
	PIDS+=("$login_pid")
	sleep 2
	cpu_by_comm >"$WORK/me_login.cpu0"
	log "me_login: wrk me, $ME_CONNS connections, $DURATION, while login runs"
	wrk_run me_login me "$ME_CONNS" "$DURATION" "$API"
	cpu_by_comm >"$WORK/me_login.cpu1"
	wait "$login_pid" || die "the login run beside me failed"
	forget_pid "$login_pid"
	cpu_note "me while login runs (wrk: both runs, whole time)" "$WORK/me_login.cpu0" "$WORK/me_login.cpu1" \
		"$(seconds_of "$DURATION")" "$WORK/me_login.cpu" "$WORK/login_me.cpu"
	rss=$(peak_rss_kb "$SERVER_PID")
	printf 'conns=%s\nrss_kb=%s\nrss_note=%s\n' "$ME_CONNS" "$rss" "same server as login" >"$WORK/me_login.meta"
	printf 'conns=%s\nrss_kb=%s\nrss_note=%s\n' "$LOGIN_CONNS" "$rss" "same server as me" >"$WORK/login_me.meta"
	summary me_login
	summary login_me
	stop_server
fi

if wants profile; then
	start_server profile PPROF=true
	warmup me "$ME_CONNS" "$API"
	log "profile: ${PROFILE_SECONDS}s CPU profile, then allocations, under wrk me"
	wrk_run profile me "$ME_CONNS" "$((PROFILE_SECONDS + 4))s" "$API" &
	wrk_pid=$!
	PIDS+=("$wrk_pid")
	sleep 2
	curl -fsS --max-time $((PROFILE_SECONDS + 30)) -o "$WORK/cpu.pprof" \
		"$API/debug/pprof/profile?seconds=$PROFILE_SECONDS" || die "CPU profile failed (is PPROF=true honoured?)"
	curl -fsS --max-time 30 -o "$WORK/allocs.pprof" "$API/debug/pprof/allocs" || die "allocation profile failed"
	wait "$wrk_pid" || die "the wrk run under the profile failed"
	forget_pid "$wrk_pid"
	stop_server
	{
		go tool pprof -top -nodecount=25 "$BIN/accounts" "$WORK/cpu.pprof" &&
			printf '\n--- sorted by cumulative time ---\n' &&
			go tool pprof -top -cum -nodecount=45 "$BIN/accounts" "$WORK/cpu.pprof" | sed -n '/flat%/,$p'
	} 2>/dev/null >"$WORK/cpu-top.txt" || die "go tool pprof failed on the CPU profile"
	go tool pprof -sample_index=alloc_space -top -nodecount=25 "$BIN/accounts" "$WORK/allocs.pprof" 2>/dev/null \
		>"$WORK/alloc-top.txt" || die "go tool pprof failed on the allocation profile"
	rm -f "$WORK/profile.json"
fi

# --- the admin list and me on a million users (BENCH_MILLION=1) ----------------
#
# Seeds MILLION_USERS users with MILLION_PRODUCTS products each into a
# database of its own (every fifth user inactive; sessions and tokens for a
# sample of as many users as the reference's active ones; an admin with a token; a cursor minted
# MILLION_CURSOR_DEPTH active users deep), and a reference database of
# MILLION_SAMPLE users with the same products each and the same shape (every
# fifth inactive, an admin, a cursor half-way down the active group), all
# with tokens. Then:
#   me_10k / me_1m   GET me on the reference and on the million seed, the same
#                    number of tokens in rotation, alternated MILLION_ROUNDS times
#                    so that other load on the machine falls on both alike
#   admin_*_10k      each admin list request for DURATION with ADMIN_CONNS
#                    connections on a server of the reference seed, then
#   admin_*          the same on a server of the million seed (target: p99 <= 50 ms)
# Both databases are dropped afterwards unless BENCH_MILLION_KEEP=1.
million_db_url() { printf '%s/%s%s' "${pg_base%/*}" "$1" "$pg_query"; }

drop_million_dbs() {
	[[ ${BENCH_MILLION_KEEP:-0} == 1 ]] && return 0
	psql -w -X -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $MILLION_DB WITH (FORCE)" \
		-c "DROP DATABASE IF EXISTS ${MILLION_DB}_ref WITH (FORCE)" >&2 || log "could not drop $MILLION_DB"
}

# admin_check NAME PATH JQ-LIKE-GREP: the request answers 200 and its body
# holds the given text, before it is measured.
admin_check() {
	local name=$1 path=$2 want=$3 status
	status=$(curl -s -o "$WORK/admin_$name.probe.json" -w '%{http_code}' --max-time 30 \
		-H "Authorization: Bearer $(head -n 1 "$ADMIN_TOKEN")" "$API$path" || true)
	[[ $status == 200 ]] || die "admin_$name: GET $path answered $status: $(head -c 300 "$WORK/admin_$name.probe.json")"
	grep -q -- "$want" "$WORK/admin_$name.probe.json" ||
		die "admin_$name: GET $path lacks $want: $(head -c 300 "$WORK/admin_$name.probe.json")"
}

# search_prefix N: a search matching the tenth of an N-user seed that starts
# half-way down its emails (bench-user-5 for a million, bench-user-005 for
# 10,000): broad, and none of its users among the newest.
search_prefix() {
	local n=$1 tenth=$(($1 / 10)) s
	s=$(printf '%06d' $((n / 2)))
	printf 'bench-user-%s' "${s:0:$((7 - ${#tenth}))}"
}

# admin_lists SUFFIX DB_URL USERS ADMIN_TOKEN CURSOR_FILE DEPTH: checks each
# admin list request's answer on a server of that seed (every fifth user
# inactive), then measures each with ADMIN_CONNS connections as admin_NAME$SUFFIX.
admin_lists() {
	local suffix=$1 url=$2 users=$3 token=$4 cursor_file=$5 depth=$6 cursor next active r name path want
	cursor=$(sed -n 1p "$cursor_file")
	next=$(sed -n 2p "$cursor_file")
	active=$((users - users / 5))
	local requests=(
		"first|/api/v1/admin/users|\"total\":$active"
		"search|/api/v1/admin/users?q=$(search_prefix "$users")|\"total_capped\":"
		"inactive|/api/v1/admin/users?status=inactive|\"total\":$((users / 5))"
		"active|/api/v1/admin/users?status=active|\"total\":$active"
		"cursor|/api/v1/admin/users?status=active&cursor=$cursor|\"email\":\"$next\""
	)
	start_server "admin$suffix" "DATABASE_URL=$url"
	for r in "${requests[@]}"; do
		IFS='|' read -r name path want <<<"$r"
		ADMIN_TOKEN=$token admin_check "$name$suffix" "$path" "$want"
	done
	# The deep page must start right after the cursor's user: its first item.
	[[ $(grep -o '"email":"[^"]*"' "$WORK/admin_cursor$suffix.probe.json" | head -n 1) == "\"email\":\"$next\"" ]] ||
		die "admin_cursor$suffix: the page does not start at $next"
	for r in "${requests[@]}"; do
		IFS='|' read -r name path want <<<"$r"
		BENCH_ADMIN_PATH=$path BENCH_ADMIN_TOKEN=$token measure "admin_$name$suffix" admin "$ADMIN_CONNS" "$API"
		printf 'path=%s\n' "${path/cursor=*/cursor=<$depth users deep>}" >>"$WORK/admin_$name$suffix.meta"
	done
	stop_server
}

if wants million; then
	[[ $MILLION_DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_MILLION_DB must be a plain lower-case identifier"
	trap 'drop_million_dbs; cleanup' EXIT
	MILLION_URL=$(million_db_url "$MILLION_DB")
	REF_URL=$(million_db_url "${MILLION_DB}_ref")
	for db in "$MILLION_DB" "${MILLION_DB}_ref"; do
		psql -w -X -q "$TEST_DATABASE_URL" -v ON_ERROR_STOP=1 \
			-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >&2 || die "could not recreate database $db"
	done
	env "${SERVER_ENV[@]}" "DATABASE_URL=$MILLION_URL" "$BIN/accounts" migrate >&2 || die "accounts migrate ($MILLION_DB) failed"
	env "${SERVER_ENV[@]}" "DATABASE_URL=$REF_URL" "$BIN/accounts" migrate >&2 || die "accounts migrate (${MILLION_DB}_ref) failed"
	ADMIN_TOKEN=$WORK/admin-token.txt
	CURSOR=$WORK/cursor.txt
	log "seeding $MILLION_USERS users with $MILLION_PRODUCTS products each into $MILLION_DB"
	seed_start=$SECONDS
	DATABASE_URL=$MILLION_URL JWT_SECRET=$JWT_SECRET "$BIN/seed" -users "$MILLION_USERS" -products "$MILLION_PRODUCTS" \
		-password "$PASSWORD" -cost "$COST" -token-sample "$((MILLION_SAMPLE * 4 / 5))" -inactive-every 5 -refresh "" \
		-tokens "$WORK/tokens-1m.txt" -emails "$WORK/emails-1m.txt" -admin-token "$ADMIN_TOKEN" \
		-cursor-depth "$MILLION_CURSOR_DEPTH" -cursor-file "$CURSOR" || die "seeding $MILLION_DB failed"
	seed_secs=$((SECONDS - seed_start))
	log "seeding $MILLION_SAMPLE users with $MILLION_PRODUCTS products each into ${MILLION_DB}_ref"
	REF_CURSOR_DEPTH=$((MILLION_SAMPLE * 4 / 5 / 2))
	DATABASE_URL=$REF_URL JWT_SECRET=$JWT_SECRET "$BIN/seed" -users "$MILLION_SAMPLE" -products "$MILLION_PRODUCTS" \
		-password "$PASSWORD" -cost "$COST" -inactive-every 5 -refresh "" \
		-tokens "$WORK/tokens-10k.txt" -emails "$WORK/emails-10k.txt" -admin-token "$WORK/admin-token-10k.txt" \
		-cursor-depth "$REF_CURSOR_DEPTH" -cursor-file "$WORK/cursor-10k.txt" || die "seeding ${MILLION_DB}_ref failed"
	db_size=$(psql -w -X -At "$MILLION_URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
	shared_buffers=$(psql -w -X -At "$MILLION_URL" -c "SHOW shared_buffers")

	for round in $(seq 1 "$MILLION_ROUNDS"); do
		for seedname in 10k 1m; do
			url=$REF_URL
			[[ $seedname == 1m ]] && url=$MILLION_URL
			start_server "me_${seedname}_$round" "DATABASE_URL=$url"
			BENCH_TOKENS=$WORK/tokens-$seedname.txt measure "me_${seedname}_$round" me "$ME_CONNS" "$API"
			stop_server
		done
	done

	# The same admin list requests on the reference seed first, then on the
	# million: the reference shows what the machine's other load alone does
	# to the tail in this run.
	admin_lists _10k "$REF_URL" "$MILLION_SAMPLE" "$WORK/admin-token-10k.txt" "$WORK/cursor-10k.txt" "$REF_CURSOR_DEPTH"
	admin_lists "" "$MILLION_URL" "$MILLION_USERS" "$ADMIN_TOKEN" "$CURSOR" "$MILLION_CURSOR_DEPTH"
	printf 'users=%s\nproducts=%s\nsample=%s\nref_users=%s\ninactive=%s\ncursor_depth=%s\nseed_seconds=%s\ndb_size=%s\nrounds=%s\nadmin_conns=%s\nshared_buffers=%s\n' \
		"$MILLION_USERS" "$((MILLION_USERS * MILLION_PRODUCTS))" "$((MILLION_SAMPLE * 4 / 5))" "$MILLION_SAMPLE" "$((MILLION_USERS / 5))" \
		"$MILLION_CURSOR_DEPTH" "$seed_secs" "$db_size" "$MILLION_ROUNDS" "$ADMIN_CONNS" "$shared_buffers" >"$WORK/million.meta"
	drop_million_dbs
fi

# Codes and pending registrations of the run expire on their own; remove them
# now from the run's own Redis database (never anything else).
if command -v redis-cli >/dev/null; then
	redis_host=${REDIS_URL#redis://}
	redis_host=${redis_host%%/*}
	redis-cli -h "${redis_host%:*}" -p "${redis_host##*:}" -n "$REDIS_DB" --scan --pattern 'acct:*' 2>/dev/null |
		xargs -r -n 500 redis-cli -h "${redis_host%:*}" -p "${redis_host##*:}" -n "$REDIS_DB" unlink >/dev/null 2>&1 || true
fi

settings="wrk $DURATION per workload after a $WARMUP warm-up, $THREADS threads, timeout $WRK_TIMEOUT; $USERS users x $PRODUCTS products; bcrypt cost $COST; avatar upload $(stat -c %s "$JPEG") bytes (${JPEG_W}x${JPEG_H} JPEG), servers pure Go and -tags vips ($VIPS_NOTE); servers in production mode, LOG_LEVEL=warn, CODE_RESEND_COOLDOWN=0s, AUTH_RATE_LIMIT=1000000, AVATAR_RATE_LIMIT=1000000, one fresh server per workload; code mail of login/register to $([[ ${BENCH_MAIL:-sink} == sink ]] && echo "a discarding SMTP sink (rawbench smtpsink)" || echo Mailpit)"
settings+="; 1-minute load average at start $LOAD_AT_START"
[[ -z ${BENCH_SERVER_DB_PARAMS:-} ]] || settings+="; server DATABASE_URL extra parameters: $BENCH_SERVER_DB_PARAMS"
"$BIN/report" -dir "$WORK" -out "$REPORT" -go "$GO_VERSION" -settings "$settings"
log "report written to $REPORT (raw results in $WORK)"
