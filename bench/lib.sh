# shellcheck shell=bash
# bench/lib.sh — sourced by the bench scripts: checks, the private daemon, cleanup, small helpers.
#
# Environment: BUILD (default: the repo's build/), BENCH_SUMMARY (a file each script appends its
# summary rows to; run-all.sh sets it), BENCH_FS (how the daemon's directories are laid out, below).
#
# The daemon's directories are laid out as on a production host: its runtime directory on a tmpfs (/run) and
# its state directory on a fresh ext4 with a journal (/var/lib), a 4 GiB sparse image on a loop device, both
# made here and removed at exit. Measured on this VM, whose root file system is ext4 without a journal and
# mounted with `discard`: there each spawn's creates scan past every inode freed in the last 60 s
# (ext4's recently_deleted, only without a journal) and each unlink discards its blocks at once, which added
# 1 to 3 ms to a spawn and grew with the spawn rate. BENCH_FS=tmp keeps both directories in TMPDIR instead.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${BUILD:-$REPO/build}
BENCH_CLEANUP_HOOKS=()
BENCH_TMP=''
BENCH_CG=''
BENCH_MOUNTS=()
DAEMON_PID=''

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

note() {
	echo "# $*" >&2
}

bench_require_root() {
	[[ $(id -u) == 0 ]] || die "run as root: the benchmarks start descartesd and create cgroups"
}

# Builds the benchmark programs; the daemon, shim and CLI must be built already.
bench_require_build() {
	local f
	for f in supervisor/descartesd supervisor/shim/descartes-shim client/descartesctl; do
		[[ -x $BUILD/$f ]] || die "$BUILD/$f is missing: meson setup build && ninja -C build (or set BUILD)"
	done
	command -v ninja >/dev/null || die "ninja is missing"
	ninja -C "$BUILD" bench >/dev/null || die "ninja -C $BUILD bench failed"
	# used by the scripts that source this file
	# shellcheck disable=SC2034
	DESCARTESD=$BUILD/supervisor/descartesd
	SHIM=$BUILD/supervisor/shim/descartes-shim
	# the source tree's seccomp policies: the daemon refuses to start without its default policy
	POLICY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/policies
	DESCARTESCTL=$BUILD/client/descartesctl
	BENCH_CLIENT=$BUILD/bench/bench-client
	# shellcheck disable=SC2034
	BENCH_ZMQ_RTT=$BUILD/bench/bench-zmq-rtt
	# shellcheck disable=SC2034
	BENCH_FREEZE=$BUILD/bench/bench-freeze
	# shellcheck disable=SC2034
	BENCH_TPUT=$BUILD/bench/bench-tput
}

# The cgroup2 mount: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid one.
bench_cgroup2_mount() {
	if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then
		echo /sys/fs/cgroup
	elif [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
		echo /sys/fs/cgroup/unified
	else
		die "no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified"
	fi
}

# Kills everything in a cgroup tree we made and removes it bottom-up.
bench_cgroup_destroy() {
	local cg=$1
	[[ -d $cg ]] || return 0
	echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
	for _ in $(seq 200); do
		grep -q '^populated 0' "$cg/cgroup.events" 2>/dev/null && break
		sleep 0.05
	done
	find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
	[[ ! -d $cg ]] || echo "# could not remove $cg" >&2
}

bench_daemon_stop() {
	[[ -n $DAEMON_PID ]] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=''
}

bench_cleanup() {
	set +e
	local h
	for h in "${BENCH_CLEANUP_HOOKS[@]}"; do "$h"; done
	bench_daemon_stop
	[[ -n $BENCH_CG ]] && bench_cgroup_destroy "$BENCH_CG"
	local i
	# the loop device of a `mount -o loop` is detached by its umount
	for ((i = ${#BENCH_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${BENCH_MOUNTS[$i]}" || echo "# could not unmount ${BENCH_MOUNTS[$i]}" >&2
	done
	BENCH_MOUNTS=()
	[[ -n $BENCH_TMP ]] && rm -rf --one-file-system "$BENCH_TMP"
	BENCH_CG='' BENCH_TMP=''
}

# The runtime directory on a tmpfs and the state directory on a journaled ext4 (see the top of this file).
bench_fs_setup() {
	mkdir -p "$BENCH_TMP/run" "$BENCH_TMP/state"
	[[ ${BENCH_FS:-} == tmp ]] && return 0
	[[ -z ${BENCH_FS:-} ]] || die "BENCH_FS=$BENCH_FS: only BENCH_FS=tmp (or nothing) is known"
	command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is missing: apt-get install -y e2fsprogs (or BENCH_FS=tmp)"
	mount -t tmpfs -o mode=0755 descartes-bench-run "$BENCH_TMP/run" || die "cannot mount a tmpfs on $BENCH_TMP/run"
	BENCH_MOUNTS+=("$BENCH_TMP/run")
	truncate -s 4G "$BENCH_TMP/state.img"
	mkfs.ext4 -q -F -j "$BENCH_TMP/state.img" || die "mkfs.ext4 of the state image failed"
	mount -o loop "$BENCH_TMP/state.img" "$BENCH_TMP/state" ||
		die "cannot mount the state image on a loop device (no loop devices? try BENCH_FS=tmp)"
	BENCH_MOUNTS+=("$BENCH_TMP/state")
}

# Sets up the temp dir, the daemon's directories and the cleanup traps. Call once, early.
bench_init() {
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/descartes-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	bench_fs_setup
}

# Starts this tree's descartesd on BENCH_TMP and a fresh cgroup; sets CTL (descartesctl with the endpoints)
# and CLIENT (bench-client with the endpoints). BENCH_EXTRA_CONFIG: more config lines; BENCH_DAEMON_WRAP: an
# array the daemon's command is prefixed with (remote-rtt.sh: nsenter into a network namespace).
bench_daemon_start() {
	local _
	BENCH_CG=$(bench_cgroup2_mount)/descartes-bench-$$
	[[ ! -e $BENCH_CG ]] || die "$BENCH_CG exists already"
	# throughput runs leave thousands of ended agents behind: lift the default caps (4096, 1024 per user)
	printf 'max_agents = 1000000\nmax_agents_per_user = 1000000\n%s\n' "${BENCH_EXTRA_CONFIG:-}" \
		>"$BENCH_TMP/descartesd.conf"
	${BENCH_DAEMON_WRAP[@]+"${BENCH_DAEMON_WRAP[@]}"} "$DESCARTESD" --runtime-dir "$BENCH_TMP/run" --state-dir "$BENCH_TMP/state" --cgroup-root "$BENCH_CG" \
		--shim "$SHIM" --policy-dir "$POLICY_DIR" --config "$BENCH_TMP/descartesd.conf" \
		>>"$BENCH_TMP/daemon.log" 2>&1 &
	DAEMON_PID=$!
	CTL=("$DESCARTESCTL" -H "ipc://$BENCH_TMP/run/control")
	CLIENT=("$BENCH_CLIENT" -H "ipc://$BENCH_TMP/run/control")
	for _ in $(seq 100); do
		"${CTL[@]}" health >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$BENCH_TMP/daemon.log" >&2
	die "descartesd did not come up (log above)"
}

# Removes every ended agent.
bench_purge() {
	"${CLIENT[@]}" purge >/dev/null
}

# kv KEY LINE: the value of KEY=... in a key=value line.
kv() {
	sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"
}

# kv_col KEY LINES...: the value of KEY in each line, one per line (for median, spread)
kv_col() {
	local k=$1 l
	shift
	for l in "$@"; do kv "$k" "$l"; done
}

# median of the numbers on stdin (lower median for an even count)
median() {
	sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'
}

# spread of the numbers on stdin as "min–max"
spread() {
	sort -g | awk 'NR==1{a=$1} {b=$1} END {if (NR) printf "%s–%s\n", a, b}'
}

# ratio A B with 2 decimals
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f\n", a / b; else print "-"}'
}

# verdict VALUE OP LIMIT: "met" or "missed" (OP is <= or >=)
verdict() {
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
		if (v == "-" || v == "") { print "-"; exit }
		ok = (op == "<=") ? (v <= l) : (v >= l); print ok ? "met" : "**missed**" }'
}

# summary_row FIGURE OURS PEER RATIO TARGET VERDICT: one row of run-all's table (also printed to stderr).
summary_row() {
	local row="| $1 | $2 | $3 | $4 | $5 | $6 |"
	echo "$row" >&2
	[[ -n ${BENCH_SUMMARY:-} ]] && echo "$row" >>"$BENCH_SUMMARY"
	return 0
}

machine_line() {
	echo "$(date -u +%FT%TZ), $(nproc) cpus ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
}
