#!/usr/bin/env bash
# volume-sim's NBD server against qemu-nbd exporting a raw file on tmpfs,
# side by side in one run, with the same client (qemu-img bench).
#
#   cargo build --release -p volume-sim --example nbd_serve
#   crates/volume-sim/benches/nbd_vs_qemu_nbd.sh [ROUNDS]
#
# Prints every timing, then the median of ROUNDS (default 5) per test and
# server, and the server's RSS after writing 1 GiB through NBD.
# Needs qemu-utils and curl; uses ports 10809 (ours) and 10810 (qemu-nbd),
# loopback only.
set -euo pipefail

ROUNDS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=$ROOT/target/release/examples/nbd_serve
WORK=$(mktemp -d)
RAW=/dev/shm/volume-sim-nbd-bench.raw
GIB=1073741824
OURS_PID=
QEMU_PID=

cleanup() {
    [ -n "$OURS_PID" ] && kill "$OURS_PID" 2>/dev/null || true
    [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null || true
    rm -f "$RAW"
    rm -rf "$WORK"
}
trap cleanup EXIT

# Ours: the Linode fake and NBD on one engine; a 10 GiB volume (Linode's
# minimum) attached to an instance. The benchmark uses its first GiB.
"$BIN" 127.0.0.1:10809 >"$WORK/serve.log" 2>&1 &
OURS_PID=$!
for _ in $(seq 50); do grep -q '^linode' "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
BASE=$(grep -o 'http://[^ ]*' "$WORK/serve.log")
TOKEN=volume-sim-linode-token
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
VOL=$(api -X POST "$BASE/volumes" -d '{"label":"bench","region":"us-east","size":10}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 100); do
    api "$BASE/volumes/$VOL" | grep -q '"status": *"active"' && break
    sleep 0.2
done
api -X POST "$BASE/volumes/$VOL/attach" -d '{"linode_id": 1001}' >/dev/null

# qemu-nbd: a sparse 1 GiB raw file on tmpfs.
rm -f "$RAW"
truncate -s $GIB "$RAW"
qemu-nbd -f raw -t -e 8 -b 127.0.0.1 -p 10810 -x bench "$RAW" &
QEMU_PID=$!
sleep 1

opts() { # port export
    echo "driver=raw,size=$GIB,file.driver=nbd,file.server.type=inet,file.server.host=127.0.0.1,file.server.port=$1,file.export=$2"
}
OURS=$(opts 10809 "$VOL")
QEMU=$(opts 10810 bench)

# name | qemu-img bench arguments
TESTS=(
    "seq-write-1M|-w -c 1024 -s 1M -S 1M"
    "seq-read-1M|-c 1024 -s 1M -S 1M"
    "rand-write-4K|-w -c 131072 -s 4K -S 40988672"
    "rand-read-4K|-c 131072 -s 4K -S 40988672"
)
# -S 40988672 is 10007 blocks of 4 KiB: the offset wraps at 1 GiB, and 10007
# is odd, so the run visits scattered blocks ~39 MiB apart (qemu-img bench
# has no random mode).

bench() { # image-opts args...
    local o=$1
    shift
    qemu-img bench --image-opts -q "$@" "$o" 2>&1 | sed -n 's/.*completed in \([0-9.]*\) seconds.*/\1/p'
}

: >"$WORK/times"
for round in $(seq "$ROUNDS"); do
    for t in "${TESTS[@]}"; do
        name=${t%%|*}
        args=${t#*|}
        # shellcheck disable=SC2086
        ours=$(bench "$OURS" $args)
        # shellcheck disable=SC2086
        qemu=$(bench "$QEMU" $args)
        echo "$name ours $ours" >>"$WORK/times"
        echo "$name qemu-nbd $qemu" >>"$WORK/times"
        echo "round $round $name: ours ${ours}s qemu-nbd ${qemu}s"
        if [ "$round" = 1 ] && [ "$name" = seq-write-1M ]; then
            RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$OURS_PID/status")
        fi
    done
done

echo
printf '%-14s %12s %12s %10s\n' test "ours (s)" "qemu-nbd (s)" "ours/qemu"
for t in "${TESTS[@]}"; do
    name=${t%%|*}
    med() { grep "^$name $1 " "$WORK/times" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    o=$(med ours)
    q=$(med qemu-nbd)
    # Throughput ratio: how many times faster ours is (>= 1.0 is the target).
    printf '%-14s %12s %12s %9.2fx\n' "$name" "$o" "$q" "$(echo "$q / $o" | bc -l)"
done
echo
echo "ours: RSS after writing 1 GiB through NBD: $((RSS_KB / 1024)) MiB ($(echo "$RSS_KB * 1024 / $GIB" | bc -l | cut -c1-5)x of 1 GiB)"
