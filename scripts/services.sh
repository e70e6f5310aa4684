#!/usr/bin/env bash
# services.sh makes the real backing services of the API available on this
# machine, without Docker: PostgreSQL, Redis, MinIO and Mailpit, all bound to
# 127.0.0.1. It is idempotent: a service that already answers is left alone.
#
# Usage:
#   scripts/services.sh [start] [--env-file FILE]   start what is missing, then
#                                                   print the test env on stdout
#   scripts/services.sh --env                       same as start
#   scripts/services.sh env                         print the test env only
#   scripts/services.sh status                      show which services answer
#   scripts/services.sh stop                        stop what this script started
#
# Progress goes to stderr and only the env lines go to stdout, as
# `export TEST_...='...'` lines, so either of these works:
#   eval "$(scripts/services.sh)"
#   scripts/services.sh --env-file .services.env && . ./.services.env
# (Prefer `env=$(scripts/services.sh)` or --env-file under `set -e`: the exit
# status of `eval "$(...)"` hides a failed start.)
#
# Missing PostgreSQL or Redis is installed with apt-get (root needed). MinIO and
# Mailpit are built once with `go install` into $CACHE_DIR/bin. Processes this
# script starts are recorded under $CACHE_DIR/run; `stop` ends only those.
#
# Environment:
#   CACHE_DIR           binaries, data, pid files and logs ($HOME/.cache/accounts)
#   POSTGRES_PORT       5432      REDIS_PORT          6379
#   REDIS_CLUSTER_PORTS "7001 7002 7003"  a three-master Redis Cluster
#   MINIO_PORT          9000      MINIO_CONSOLE_PORT  9001
#   MAILPIT_SMTP_PORT   1025      MAILPIT_HTTP_PORT   8025
#   WAIT_SECONDS        60        how long to wait for each service to answer
set -euo pipefail

# Keep stdout for the env lines only; everything else, including the output of
# apt-get and go install, goes to stderr.
exec 3>&1 1>&2

readonly MINIO_PKG=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
readonly MAILPIT_PKG=github.com/axllent/mailpit@v1.33.1
readonly HOST=127.0.0.1
readonly S3_ACCESS_KEY=minioadmin
readonly S3_SECRET_KEY=minioadmin

CACHE_DIR=${CACHE_DIR:-${HOME:-/root}/.cache/accounts}
BIN_DIR=$CACHE_DIR/bin
RUN_DIR=$CACHE_DIR/run
LOG_DIR=$CACHE_DIR/log
POSTGRES_PORT=${POSTGRES_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
read -r -a REDIS_CLUSTER_PORTS <<<"${REDIS_CLUSTER_PORTS:-7001 7002 7003}"
MINIO_PORT=${MINIO_PORT:-9000}
MINIO_CONSOLE_PORT=${MINIO_CONSOLE_PORT:-9001}
MAILPIT_SMTP_PORT=${MAILPIT_SMTP_PORT:-1025}
MAILPIT_HTTP_PORT=${MAILPIT_HTTP_PORT:-8025}
WAIT_SECONDS=${WAIT_SECONDS:-60}

MINIO_URL=http://$HOST:$MINIO_PORT
MAILPIT_URL=http://$HOST:$MAILPIT_HTTP_PORT

log() { printf '[services] %s\n' "$*"; }

die() {
	printf 'services.sh: error: %s\n' "$*"
	exit 1
}

# tail_log shows the end of a service log before failing, because in CI the
# log file is gone once the machine is.
tail_log() {
	if [[ -s $1 ]]; then
		printf -- '--- last lines of %s ---\n' "$1"
		tail -n 20 "$1"
		printf -- '---\n'
	fi
}

# wait_for polls a check command until it succeeds or WAIT_SECONDS pass.
wait_for() {
	local deadline=$((SECONDS + WAIT_SECONDS))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.5
	done
}

APT_UPDATED=
apt_install() {
	[[ $(id -u) -eq 0 ]] || die "$* is not installed and installing it needs root (apt-get install -y $*)"
	command -v apt-get >/dev/null || die "$* is not installed and apt-get is not available"
	if [[ -z $APT_UPDATED ]]; then
		log "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
		APT_UPDATED=1
	fi
	log "apt-get install -y $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" || die "apt-get install -y $* failed"
}

need_cmd() { # need_cmd COMMAND APT_PACKAGE
	command -v "$1" >/dev/null || apt_install "$2"
}

http_ok() { curl -fs -o /dev/null --max-time 2 "$1"; }

# pid_running tells whether the pid in a pid file is alive and still the
# expected program, so a recycled pid is never signalled.
pid_running() { # pid_running PIDFILE NAME
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# start_daemon runs a long-lived program detached from this shell (its own
# session, no stdin) and records its pid. Fd 3 is closed for it: a daemon
# holding the caller's stdout open would make `$(services.sh)` wait forever.
start_daemon() { # start_daemon NAME LOGFILE COMMAND...
	local name=$1 logfile=$2
	shift 2
	setsid nohup "$@" </dev/null >"$logfile" 2>&1 3>&- &
	echo $! >"$RUN_DIR/$name.pid"
}

# go_tool builds a Go program into BIN_DIR once. The lock keeps two runs of
# this script from building the same (slow) program at the same time.
go_tool() { # go_tool NAME PACKAGE@VERSION
	local name=$1 pkg=$2 lock
	[[ -x $BIN_DIR/$name ]] && return 0
	command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
	command -v go >/dev/null || die "$name is missing from $BIN_DIR and Go is not installed to build it"
	exec {lock}>"$CACHE_DIR/.build-$name.lock"
	flock "$lock"
	if [[ ! -x $BIN_DIR/$name ]]; then
		log "building $name ($pkg); the first build takes a few minutes"
		(cd / && GOBIN=$BIN_DIR GOFLAGS='' go install "$pkg") || die "go install $pkg failed"
	fi
	exec {lock}>&-
}

# --- PostgreSQL --------------------------------------------------------------

pg_ready() { pg_isready -q -h "$HOST" -p "$POSTGRES_PORT"; }

pg_trusts() {
	psql -w -X -q -h "$HOST" -p "$POSTGRES_PORT" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1
}

pg_version() {
	local ver
	[[ -d /etc/postgresql ]] || return 1
	# shellcheck disable=SC2012 # version directories are plain numbers
	ver=$(ls /etc/postgresql | sort -V | tail -n 1)
	[[ -n $ver ]] || return 1
	echo "$ver"
}

# pg_trust_localhost lets every local TCP client in as any user without a
# password; the cluster only listens on localhost and holds test data.
pg_trust_localhost() { # pg_trust_localhost VERSION
	local hba=/etc/postgresql/$1/main/pg_hba.conf
	[[ -f $hba ]] || die "no $hba to configure trust authentication in"
	if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
		log "enabling trust authentication for 127.0.0.1 in $hba"
		# Rules are matched top-down, so the trust rule goes first.
		sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
		return 0
	fi
	return 1
}

ensure_postgres() {
	local ver cluster_port state
	if ! command -v pg_isready >/dev/null || ! pg_ready; then
		[[ -n $(pg_version 2>/dev/null) ]] || apt_install postgresql
		ver=$(pg_version) || die "postgresql is installed but /etc/postgresql has no cluster"
		[[ -d /etc/postgresql/$ver/main ]] || die "no cluster $ver/main in /etc/postgresql/$ver"
		pg_trust_localhost "$ver" || true
		# The package may have started the cluster itself on install.
		if ! pg_ready; then
			read -r _ _ cluster_port state _ < <(pg_lsclusters -h "$ver" main)
			if [[ $cluster_port != "$POSTGRES_PORT" ]]; then
				[[ $state != online ]] || die "cluster $ver/main already runs on port $cluster_port; set POSTGRES_PORT=$cluster_port"
				log "setting the port of cluster $ver/main to $POSTGRES_PORT"
				pg_conftool "$ver" main set port "$POSTGRES_PORT"
			fi
			install -d -o postgres -g postgres -m 2775 /var/run/postgresql
			log "starting PostgreSQL $ver/main on $HOST:$POSTGRES_PORT"
			pg_ctlcluster --skip-systemctl-redirect "$ver" main start || die "pg_ctlcluster $ver main start failed (see /var/log/postgresql/postgresql-$ver-main.log)"
			echo "$ver main" >"$RUN_DIR/postgres.cluster"
		fi
		wait_for pg_ready || die "PostgreSQL did not accept connections on $HOST:$POSTGRES_PORT within ${WAIT_SECONDS}s"
	fi
	if ! pg_trusts; then
		# A running cluster that asks for a password: switch it to trust if it
		# is ours to configure, then reload.
		ver=$(pg_version 2>/dev/null) || die "PostgreSQL on $HOST:$POSTGRES_PORT refuses user postgres without a password, and no local cluster config to change"
		pg_trust_localhost "$ver" || true
		pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || die "pg_ctlcluster $ver main reload failed"
		wait_for pg_trusts || die "PostgreSQL on $HOST:$POSTGRES_PORT refuses user postgres without a password (check pg_hba.conf)"
	fi
	log "PostgreSQL ready on $HOST:$POSTGRES_PORT"
}

# --- Redis -------------------------------------------------------------------

redis_ready() { [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

ensure_redis() {
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		apt_install redis-server
	fi
	if redis_ready; then
		log "Redis ready on $HOST:$REDIS_PORT"
		return
	fi
	local logfile=$LOG_DIR/redis.log
	log "starting Redis on $HOST:$REDIS_PORT (log: $logfile)"
	# No persistence: this instance only ever holds test data.
	redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
		--pidfile "$RUN_DIR/redis.pid" --logfile "$logfile" --dir "$RUN_DIR" </dev/null 3>&- ||
		die "redis-server failed to start (see $logfile)"
	wait_for redis_ready || {
		tail_log "$logfile"
		die "Redis did not answer PING on $HOST:$REDIS_PORT within ${WAIT_SECONDS}s (see $logfile)"
	}
	log "Redis ready on $HOST:$REDIS_PORT"
}

# --- Redis Cluster -----------------------------------------------------------

# redis_cluster_ready: every node answers and the cluster serves all slots.
redis_cluster_ready() {
	[[ $(redis-cli -h "$HOST" -p "${REDIS_CLUSTER_PORTS[0]}" cluster info 2>/dev/null | tr -d '\r' |
		awk -F: '$1 == "cluster_state" { print $2 }') == ok ]]
}

ensure_redis_cluster() {
	if redis_cluster_ready; then
		log "Redis Cluster ready on ports ${REDIS_CLUSTER_PORTS[*]}"
		return
	fi
	local port dir logfile nodes=()
	for port in "${REDIS_CLUSTER_PORTS[@]}"; do
		dir=$RUN_DIR/redis-cluster-$port
		logfile=$LOG_DIR/redis-cluster-$port.log
		# A fresh node each time: a half-formed cluster from an earlier start
		# would refuse to be joined again.
		if [[ $(redis-cli -h "$HOST" -p "$port" ping 2>/dev/null) == PONG ]]; then
			redis-cli -h "$HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
		fi
		rm -rf "$dir" && mkdir -p "$dir"
		redis-server --daemonize yes --bind "$HOST" --port "$port" --cluster-enabled yes \
			--cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 --save "" --appendonly no \
			--pidfile "$RUN_DIR/redis-cluster-$port.pid" --logfile "$logfile" --dir "$dir" </dev/null 3>&- ||
			die "redis-server (cluster node $port) failed to start (see $logfile)"
		nodes+=("$HOST:$port")
	done
	for port in "${REDIS_CLUSTER_PORTS[@]}"; do
		wait_for bash -c "[[ \$(redis-cli -h $HOST -p $port ping 2>/dev/null) == PONG ]]" ||
			die "Redis Cluster node $port did not answer PING"
	done
	log "joining the Redis Cluster: ${nodes[*]}"
	redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes </dev/null >&2 ||
		die "redis-cli --cluster create failed"
	wait_for redis_cluster_ready || die "the Redis Cluster did not reach cluster_state:ok within ${WAIT_SECONDS}s"
	log "Redis Cluster ready on ports ${REDIS_CLUSTER_PORTS[*]}"
}

# --- MinIO -------------------------------------------------------------------

minio_ready() { http_ok "$MINIO_URL/minio/health/cluster"; }

ensure_minio() {
	if minio_ready; then
		log "MinIO ready on $HOST:$MINIO_PORT"
		return
	fi
	go_tool minio "$MINIO_PKG"
	local logfile=$LOG_DIR/minio.log data=$CACHE_DIR/minio-data
	pid_running "$RUN_DIR/minio.pid" minio && die "MinIO (pid $(<"$RUN_DIR/minio.pid")) is running but $MINIO_URL does not answer; run: $0 stop"
	mkdir -p "$data"
	log "starting MinIO on $HOST:$MINIO_PORT, console $HOST:$MINIO_CONSOLE_PORT (data: $data, log: $logfile)"
	MINIO_ROOT_USER=$S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$S3_SECRET_KEY MINIO_UPDATE=off \
		start_daemon minio "$logfile" "$BIN_DIR/minio" server "$data" \
		--address "$HOST:$MINIO_PORT" --console-address "$HOST:$MINIO_CONSOLE_PORT"
	wait_for minio_ready || {
		tail_log "$logfile"
		stop_pid minio
		die "MinIO did not answer $MINIO_URL/minio/health/cluster within ${WAIT_SECONDS}s (see $logfile)"
	}
	log "MinIO ready on $HOST:$MINIO_PORT"
}

# --- Mailpit -----------------------------------------------------------------

mailpit_ready() { http_ok "$MAILPIT_URL/readyz"; }

ensure_mailpit() {
	if mailpit_ready; then
		log "Mailpit ready: SMTP $HOST:$MAILPIT_SMTP_PORT, API $MAILPIT_URL"
		return
	fi
	go_tool mailpit "$MAILPIT_PKG"
	local logfile=$LOG_DIR/mailpit.log
	pid_running "$RUN_DIR/mailpit.pid" mailpit && die "Mailpit (pid $(<"$RUN_DIR/mailpit.pid")) is running but $MAILPIT_URL does not answer; run: $0 stop"
	log "starting Mailpit: SMTP $HOST:$MAILPIT_SMTP_PORT, API $MAILPIT_URL (log: $logfile)"
	# Accept any SMTP credentials, so the app works with or without SMTP_USERNAME.
	start_daemon mailpit "$logfile" "$BIN_DIR/mailpit" \
		--smtp "$HOST:$MAILPIT_SMTP_PORT" --listen "$HOST:$MAILPIT_HTTP_PORT" \
		--smtp-auth-accept-any --smtp-auth-allow-insecure --disable-version-check
	wait_for mailpit_ready || {
		tail_log "$logfile"
		stop_pid mailpit
		die "Mailpit did not answer $MAILPIT_URL/readyz within ${WAIT_SECONDS}s (see $logfile)"
	}
	log "Mailpit ready: SMTP $HOST:$MAILPIT_SMTP_PORT, API $MAILPIT_URL"
}

# --- commands ----------------------------------------------------------------

# redis_cluster_url is go-redis's cluster URL form: the first node, then
# addr= for each other one.
redis_cluster_url() {
	local url="redis://$HOST:${REDIS_CLUSTER_PORTS[0]}" port sep="?"
	for port in "${REDIS_CLUSTER_PORTS[@]:1}"; do
		url+="${sep}addr=$HOST:$port"
		sep="&"
	done
	printf '%s' "$url"
}

quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

env_lines() {
	local redis_bin minio_bin
	redis_bin=$(command -v redis-server || true)
	minio_bin=$BIN_DIR/minio
	local -a vars=(
		"TEST_DATABASE_URL=postgres://postgres@$HOST:$POSTGRES_PORT/postgres?sslmode=disable"
		"TEST_REDIS_URL=redis://$HOST:$REDIS_PORT/0"
		"TEST_REDIS_CLUSTER_URL=$(redis_cluster_url)"
		"TEST_S3_ENDPOINT=$HOST:$MINIO_PORT"
		"TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY"
		"TEST_S3_SECRET_KEY=$S3_SECRET_KEY"
		"TEST_SMTP_ADDR=$HOST:$MAILPIT_SMTP_PORT"
		"TEST_MAILPIT_URL=$MAILPIT_URL"
		"TEST_MINIO_BIN=$minio_bin"
		"TEST_REDIS_SERVER_BIN=$redis_bin"
		"TEST_REQUIRE_SERVICES=1"
	)
	local v
	for v in "${vars[@]}"; do
		printf 'export %s=%s\n' "${v%%=*}" "$(quote "${v#*=}")"
	done
}

cmd_start() {
	local env_file=$1
	mkdir -p "$BIN_DIR" "$RUN_DIR" "$LOG_DIR"
	need_cmd curl curl
	need_cmd setsid util-linux
	need_cmd flock util-linux
	ensure_postgres
	ensure_redis
	ensure_redis_cluster
	ensure_minio
	ensure_mailpit
	if [[ -n $env_file ]]; then
		env_lines >"$env_file"
		log "test env written to $env_file"
	fi
	env_lines >&3
}

cmd_status() {
	local down=0
	check() { # check NAME DESCRIPTION COMMAND...
		local name=$1 desc=$2
		shift 2
		if "$@" >/dev/null 2>&1; then
			printf '%-10s up    %s\n' "$name" "$desc"
		else
			printf '%-10s down  %s\n' "$name" "$desc"
			down=1
		fi
	} >&3
	check postgres "$HOST:$POSTGRES_PORT" pg_ready
	check redis "$HOST:$REDIS_PORT" redis_ready
	check redis-cluster "ports ${REDIS_CLUSTER_PORTS[*]}" redis_cluster_ready
	check minio "$MINIO_URL" minio_ready
	check mailpit "$MAILPIT_URL (SMTP $HOST:$MAILPIT_SMTP_PORT)" mailpit_ready
	return "$down"
}

# stop_pid ends a daemon this script started, waiting for it to exit.
stop_pid() { # stop_pid NAME
	local pidfile=$RUN_DIR/$1.pid pid
	[[ -f $pidfile ]] || return 0
	if pid_running "$pidfile" "$1"; then
		pid=$(<"$pidfile")
		log "stopping $1 (pid $pid)"
		kill "$pid"
		local deadline=$((SECONDS + 20))
		while kill -0 "$pid" 2>/dev/null; do
			((SECONDS < deadline)) || die "$1 (pid $pid) did not exit within 20s"
			sleep 0.2
		done
	fi
	rm -f "$pidfile"
}

cmd_stop() {
	stop_pid mailpit
	stop_pid minio
	stop_pid redis
	local port
	for port in "${REDIS_CLUSTER_PORTS[@]}"; do
		# Only nodes this script started (it left their pid files).
		[[ -f $RUN_DIR/redis-cluster-$port.pid ]] || continue
		log "stopping Redis Cluster node $port"
		redis-cli -h "$HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
		rm -f "$RUN_DIR/redis-cluster-$port.pid"
	done
	if [[ -f $RUN_DIR/postgres.cluster ]]; then
		local ver name
		read -r ver name <"$RUN_DIR/postgres.cluster"
		log "stopping PostgreSQL $ver/$name"
		pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" stop || die "pg_ctlcluster $ver $name stop failed"
		rm -f "$RUN_DIR/postgres.cluster"
	fi
	log "stopped what this script had started"
}

usage() { # usage [EXIT_CODE]: help on stdout, or on stderr for a usage error
	local code=${1:-0}
	if ((code == 0)); then exec 1>&3; fi
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
	exit "$code"
}

main() {
	local cmd=start env_file=
	while (($#)); do
		case $1 in
		start | --env) cmd=start ;;
		env | status | stop) cmd=$1 ;;
		--env-file)
			[[ $# -ge 2 ]] || die "--env-file needs a file name"
			env_file=$2
			shift
			;;
		--env-file=*) env_file=${1#*=} ;;
		-h | --help | help) usage ;;
		*)
			printf 'services.sh: unknown argument %q\n' "$1"
			usage 2
			;;
		esac
		shift
	done
	case $cmd in
	start) cmd_start "$env_file" ;;
	env) env_lines >&3 ;;
	status) cmd_status ;;
	stop) cmd_stop ;;
	esac
}

main "$@"
