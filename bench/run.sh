#!/usr/bin/env bash
# bench/run.sh - libseqnet's recurrent benchmark beside its peers, in one run.
#
#   bench/run.sh [--steps N] [--models core,i,ii,iii,iv,v,lat1] [--threads N]
#                [--passes N] [--isas LIST] [--install] [--no-build] [--no-torch]
#                [--no-onednn] [--strict]
#
# 1. builds the library, build/bench/bench_rnn and build/bench/bench_gemm
#    (`make bench-build`; the make program comes from $SN_MAKE, default make;
#    skip with --no-build);
# 2. for each instruction-set path in --isas (default: every one of avx512,
#    avx2, generic that this CPU runs), with libseqnet and both peers held to
#    that path in the same run:
#      libseqnet  SN_CPU=<isa>
#      PyTorch    ATEN_CPU_CAPABILITY=avx512|avx2|default and
#                 OPENBLAS_CORETYPE=SkylakeX|Haswell|Nehalem
#      oneDNN     ONEDNN_MAX_CPU_ISA=AVX512_CORE|AVX2|SSE41
#    (each peer's own report of the path it took is printed and checked:
#    torch.__config__.show()'s "CPU capability usage", oneDNN's verbose
#    "isa:" line; a peer that did not switch is marked in the table);
#    a. runs build/bench/bench_rnn --threads T --steps N --models M;
#    b. runs PyTorch: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3
#       $SHARED/bench/torch_bench.py --threads T --steps N --models M
#       (skipped with a note if torch is missing);
#    c. builds $SHARED/bench/onednn_lstm.c into build/bench/onednn_lstm and
#       runs OMP_NUM_THREADS=T onednn_lstm 256 64 128 128 N, and at batch 1
#       for the latency reference (skipped with a note if libdnnl-dev is
#       missing);
#    a-c repeat --passes times (default 1), interleaved, and each number is
#    the lowest of its passes' medians: this VM has slow phases of a minute
#    or more that hit one program and not the next, and interleaving gives
#    every program the same chances;
#    d. runs build/bench/bench_gemm: the recurrent products' GFLOP/s beside
#       the BLAS's sgemm on the same shapes, one thread, same path;
#    e. prints that path's ratio table against the targets (PASS/MISS/SKIP).
#    Every program gets the same thread count T (--threads, default 2).
#
# $SHARED is ../shared relative to the repository root; override with SN_SHARED=dir.
# --install: apt-get install -y python3-torch libdnnl-dev first (root or sudo).
# Raw outputs and the ratio table are kept in build/bench/*.txt.
# Exit status: non-zero only if the libseqnet benchmark itself fails (or, with
# --strict, if a target is missed); missing peers are notes, not failures.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SN_SHARED:-$root/../shared}
peers=$shared/bench
make_cmd=${SN_MAKE:-make}

steps=10
passes=1
models=core,i,ii,iii,iv,v,lat1
threads=2
install=0
build=1
use_torch=1
use_onednn=1
strict=0
isas=

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
        --steps) steps=$2; shift 2 ;;
        --models) models=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --passes) passes=$2; shift 2 ;;
        --isas) isas=${2//,/ }; shift 2 ;;
        --install) install=1; shift ;;
        --no-build) build=0; shift ;;
        --no-torch) use_torch=0; shift ;;
        --no-onednn) use_onednn=0; shift ;;
        --strict) strict=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$root" || exit 1
out=build/bench
mkdir -p "$out"
notes=()
note() { # once per message, though the passes may repeat it
    local n
    for n in "${notes[@]}"; do [ "$n" = "$*" ] && return; done
    notes+=("$*"); echo "note: $*"
}
section() { printf '\n==== %s ====\n' "$*"; }

section "machine"
model_name=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
echo "cpu: ${model_name:-unknown}, $(nproc) logical CPUs; $(uname -srm)"
echo "steps=$steps passes=$passes models=$models threads=$threads shared=$shared"

if [ "$install" = 1 ]; then
    section "installing peers (python3-torch libdnnl-dev)"
    if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo_cmd[@]}" apt-get install -y python3-torch libdnnl-dev; then
        "${sudo_cmd[@]}" apt-get update &&
            "${sudo_cmd[@]}" apt-get install -y python3-torch libdnnl-dev ||
            note "apt-get install of the peers failed; peers that are missing are skipped"
    fi
fi

# ------------------------------------------------------------------ libseqnet
if [ "$build" = 1 ]; then
    section "build ($make_cmd bench-build)"
    if ! $make_cmd bench-build; then
        echo "run.sh: building libseqnet / bench_rnn failed" >&2
        exit 1
    fi
fi
if [ ! -x "$out/bench_rnn" ]; then
    echo "run.sh: $out/bench_rnn missing (run without --no-build)" >&2
    exit 1
fi

# ------------------------------------------------------------------ ratios
ratio_table() {
local isa=$1
section "$isa: ratios (median ms, lowest of $passes pass(es); ratio = libseqnet / peer, < 1 means libseqnet is faster)"
awk -v models="$models" -v isa="$isa" -v threads="$threads" '
FILENAME ~ /libseqnet-[a-z0-9]*.txt$/ && $1 == "RESULT" && $2 == "libseqnet" {
    if ($4 == "train_ms") low(sn, $3 ".train", $5)
    else if ($4 == "infer_ms") low(sn, $3 ".infer", $5)
    else if ($4 == "lat1_ms") low(sn, "lat1.infer", $5)
    else if ($4 == "n/a") na[$3] = 1
}
FILENAME ~ /torch-[a-z0-9]*.txt$/ && $1 ~ /^model=/ {
    delete kv
    for (k = 1; k <= NF; k++) { split($k, p, "="); kv[p[1]] = p[2] }
    low(th, kv["model"] "." kv["mode"], kv["ms_med"])
}
FILENAME ~ /gemm-[a-z0-9]*.txt$/ && $1 == "RESULT" && $2 == "gemm" {
    gemm_sn[$4] = $6; gemm_bl[$4] = $8
}
FILENAME ~ /peers-[a-z0-9]*.txt$/ && $1 == "peer" { switched[$2] = $4 }
FILENAME ~ /onednn-[a-z0-9]*.txt$/ && $1 == "#" && $2 == "inference" && $3 == "impl:" { impl = $4 }
FILENAME ~ /onednn-[a-z0-9]*.txt$/ && $1 == "onednn" {
    delete kv
    for (k = 2; k <= NF; k++) { split($k, p, "="); kv[p[1]] = p[2] }
    if (kv["batch"] == 1) { if (kv["mode"] == "infer") low(dn, "lat1.infer", kv["ms_med"]) }
    else if (kv["mode"] == "infer" || kv["mode"] == "train") low(dn, "core." kv["mode"], kv["ms_med"])
}
# keeps the lowest median over the passes
function low(a, key, x) { if (x != "" && (!(key in a) || x + 0 < a[key] + 0)) a[key] = x }
function v(x) { return x == "" ? "-" : sprintf("%.2f", x) }
function r(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
function target_min(name, a, b, lim,    q) {
    if (a == "" || b == "" || b == 0) { printf "  %-62s SKIP (no number)\n", name; return }
    q = a / b
    printf "  %-62s %.2fx  %s\n", name, q, (q >= lim ? "PASS" : "MISS")
    if (q < lim) missed++
}
function target(name, a, b, lim, strictlt,    q, ok) {
    if (a == "" || b == "" || b == 0) { printf "  %-62s SKIP (no number)\n", name; return }
    q = a / b; ok = strictlt ? (q < lim) : (q <= lim)
    printf "  %-62s %.2fx  %s\n", name, q, ok ? "PASS" : "MISS"
    if (!ok) missed++
}
END {
    printf "%-6s %-6s %12s %12s %12s %12s %12s\n", "model", "mode", "libseqnet", "pytorch", "onednn", "sn/torch", "sn/onednn"
    n = split(models, ms, ",")
    for (k = 1; k <= n; k++) {
        m = ms[k]
        if (m in na) { printf "%-6s %-6s %12s %12s\n", m, "train", "n/a", v(th[m ".train"]); printf "%-6s %-6s %12s %12s\n", m, "infer", "n/a", v(th[m ".infer"]); continue }
        split(m == "lat1" ? "infer" : "train,infer", modes, ",")
        for (j = 1; (j in modes); j++) {
            key = m "." modes[j]
            printf "%-6s %-6s %12s %12s %12s %12s %12s\n", m, (m == "lat1" ? "b=1" : modes[j]), v(sn[key]), v(th[key]), v(dn[key]), r(sn[key], th[key]), r(sn[key], dn[key])
        }
        delete modes
    }
    print ""
    pt = "not run"; od = "not run"
    if ("torch" in switched) pt = switched["torch"]
    if ("onednn" in switched) od = switched["onednn"]
    printf "peers switched to the path: PyTorch %s, oneDNN %s; oneDNN RNN implementation: %s\n", pt, od, (impl == "" ? "-" : impl)
    print ""
    printf "targets (path %s, one run, %s threads each):\n", isa, threads
    target("LSTM(128) core train step: sn/torch <= 0.50", sn["core.train"], th["core.train"], 0.5, 0)
    target("LSTM(128) core train step: sn/oneDNN <= 1.00", sn["core.train"], dn["core.train"], 1.0, 0)
    target("LSTM(128) core inference batch 64: sn/oneDNN <= 1.00", sn["core.infer"], dn["core.infer"], 1.0, 0)
    target("model (i) batch-1 latency: sn/torch <= 0.50", sn["lat1.infer"], th["lat1.infer"], 0.5, 0)
    target("batch-1 latency: sn model (i) / oneDNN bare LSTM <= 1.00", sn["lat1.infer"], dn["lat1.infer"], 1.0, 0)
    for (g in gemm_sn)
        target_min(sprintf("recurrent product %s: sn GFLOP/s / sgemm GFLOP/s >= 0.80", g), gemm_sn[g], gemm_bl[g], 0.8)
    print "(oneDNN train = fwd_train + bwd, without its weight reorders or an optimizer step;"
    print " libseqnet and PyTorch train = forward + loss + backward + Adam step; oneDNN b=1 is the bare LSTM)"
    printf "MISSED %d\n", missed + 0
}' "$out/libseqnet-$isa.txt" "$out/torch-$isa.txt" "$out/onednn-$isa.txt" \
    "$out/gemm-$isa.txt" "$out/peers-$isa.txt"
}

# The paths to measure: those asked for, or every one this CPU runs.
if [ -z "$isas" ]; then
    for isa in avx512 avx2 generic; do
        [ "$(SN_CPU=$isa "$out/bench_rnn" --print-isa)" = "$isa" ] && isas="$isas $isa"
    done
fi
echo "paths: $isas"

# Peer settings for one path.
peer_env() {
    case $1 in
        avx512) torch_cap=avx512; ob_core=SkylakeX; dnnl_isa=AVX512_CORE
                torch_says=AVX512; dnnl_says="AVX-512" ;;
        avx2) torch_cap=avx2; ob_core=Haswell; dnnl_isa=AVX2
              torch_says=AVX2; dnnl_says="AVX2" ;;
        *) torch_cap=default; ob_core=Nehalem; dnnl_isa=SSE41
           torch_says=NO; dnnl_says="SSE4.1" ;;
    esac
}

have_torch() {
    [ "$use_torch" = 1 ] || return 1
    if [ ! -r "$peers/torch_bench.py" ]; then
        note "PyTorch skipped: $peers/torch_bench.py not found (set SN_SHARED)"; return 1
    fi
    if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
        note "PyTorch skipped: /usr/bin/python3 cannot import torch (bench/run.sh --install, or apt-get install python3-torch)"
        return 1
    fi
}

have_onednn() {
    [ "$use_onednn" = 1 ] || return 1
    if [ ! -r "$peers/onednn_lstm.c" ]; then
        note "oneDNN skipped: $peers/onednn_lstm.c not found (set SN_SHARED)"; return 1
    fi
    if [ ! -r /usr/include/oneapi/dnnl/dnnl.h ] && ! echo '#include <oneapi/dnnl/dnnl.h>' |
            ${CC:-cc} -E -x c - >/dev/null 2>&1; then
        note "oneDNN skipped: oneapi/dnnl/dnnl.h not found (bench/run.sh --install, or apt-get install libdnnl-dev)"
        return 1
    fi
    if [ ! -x "$out/onednn_lstm" ] &&
            ! ${CC:-cc} -O2 "$peers/onednn_lstm.c" -o "$out/onednn_lstm" -ldnnl -lm -fopenmp; then
        note "oneDNN skipped: building onednn_lstm failed"; return 1
    fi
}

# Did each peer take the path?  Their own words, printed and recorded.
check_peers() {
    local isa=$1 said
    if [ "$torch_ok" = 1 ]; then
        said=$(ATEN_CPU_CAPABILITY=$torch_cap OPENBLAS_CORETYPE=$ob_core /usr/bin/python3 -c \
            'import torch; print(torch.__config__.show())' 2>/dev/null |
            sed -n 's/.*CPU capability usage: *//p' | head -1)
        echo "PyTorch with ATEN_CPU_CAPABILITY=$torch_cap says: CPU capability usage: ${said:-?}"
        case $said in "$torch_says"*) echo "peer torch $isa ok" >>"$out/peers-$isa.txt" ;;
            *) echo "peer torch $isa NOT-SWITCHED" >>"$out/peers-$isa.txt"
               note "PyTorch did not report $torch_says under ATEN_CPU_CAPABILITY=$torch_cap (said '${said:-nothing}')" ;; esac
    fi
    if [ "$onednn_ok" = 1 ]; then
        said=$(ONEDNN_VERBOSE=1 ONEDNN_MAX_CPU_ISA=$dnnl_isa OMP_NUM_THREADS=1 \
            "$out/onednn_lstm" 4 1 8 8 1 2>&1 | grep -m1 -o 'isa:[^,]*')
        echo "oneDNN with ONEDNN_MAX_CPU_ISA=$dnnl_isa says: ${said:-?}"
        case $said in *"$dnnl_says"*) echo "peer onednn $isa ok" >>"$out/peers-$isa.txt" ;;
            *) echo "peer onednn $isa NOT-SWITCHED" >>"$out/peers-$isa.txt"
               note "oneDNN did not report $dnnl_says under ONEDNN_MAX_CPU_ISA=$dnnl_isa (said '${said:-nothing}')" ;; esac
    fi
}

# Whether each peer can run: asked once (the import of torch takes seconds).
torch_ok=0; have_torch && torch_ok=1
onednn_ok=0; have_onednn && onednn_ok=1

sn_rc=0
for isa in $isas; do
    peer_env "$isa"
    : >"$out/libseqnet-$isa.txt"
    : >"$out/torch-$isa.txt"
    : >"$out/onednn-$isa.txt"
    : >"$out/peers-$isa.txt"
    section "path $isa: what each peer runs"
    check_peers "$isa"
    for pass in $(seq "$passes"); do
        section "$isa: libseqnet (pass $pass of $passes, SN_CPU=$isa)"
        SN_CPU=$isa "$out/bench_rnn" --steps "$steps" --models "$models" --threads "$threads" |
            tee -a "$out/libseqnet-$isa.txt"
        rc=${PIPESTATUS[0]}
        [ "$rc" = 0 ] || { sn_rc=$rc; note "bench_rnn failed (exit $rc); see above"; }
        if [ "$torch_ok" = 1 ]; then
            section "$isa: PyTorch (ATEN_CPU_CAPABILITY=$torch_cap, $threads threads)"
            ATEN_CPU_CAPABILITY=$torch_cap OPENBLAS_CORETYPE=$ob_core OMP_WAIT_POLICY=PASSIVE \
                /usr/bin/python3 "$peers/torch_bench.py" --threads "$threads" \
                --steps "$steps" --models "$models" | tee -a "$out/torch-$isa.txt"
            [ "${PIPESTATUS[0]}" = 0 ] || note "torch_bench.py failed; its numbers may be incomplete"
        fi
        if [ "$onednn_ok" = 1 ]; then
            section "$isa: oneDNN LSTM primitive (ONEDNN_MAX_CPU_ISA=$dnnl_isa, OMP_NUM_THREADS=$threads)"
            case ",$models," in *,core,*) run_core=1 ;; *) run_core=0 ;; esac
            case ",$models," in *,lat1,*) run_lat=1 ;; *) run_lat=0 ;; esac
            if [ "$run_core" = 1 ]; then
                ONEDNN_MAX_CPU_ISA=$dnnl_isa OMP_NUM_THREADS=$threads \
                    "$out/onednn_lstm" 256 64 128 128 "$steps" | tee -a "$out/onednn-$isa.txt"
                [ "${PIPESTATUS[0]}" = 0 ] || note "onednn_lstm (batch 64) failed"
            fi
            if [ "$run_lat" = 1 ]; then
                ONEDNN_MAX_CPU_ISA=$dnnl_isa OMP_NUM_THREADS=$threads \
                    "$out/onednn_lstm" 256 1 128 128 "$steps" | tee -a "$out/onednn-$isa.txt"
                [ "${PIPESTATUS[0]}" = 0 ] || note "onednn_lstm (batch 1) failed"
            fi
        fi
    done
    section "$isa: recurrent products vs the BLAS's sgemm (1 thread, OPENBLAS_CORETYPE=$ob_core)"
    SN_CPU=$isa OPENBLAS_CORETYPE=$ob_core BLIS_NUM_THREADS=1 "$out/bench_gemm" |
        tee "$out/gemm-$isa.txt"
    [ "${PIPESTATUS[0]}" = 0 ] || note "bench_gemm failed on $isa"
    ratio_table "$isa" | tee "$out/ratios-$isa.txt"
done
cat "$out"/ratios-*.txt >"$out/ratios.txt" 2>/dev/null
missed=$(awk '/^MISSED/ { s += $2 } END { print s + 0 }' "$out/ratios.txt")
echo
echo "all paths ($isas ): MISSED $missed"

if [ ${#notes[@]} -gt 0 ]; then
    section "notes"
    printf '  - %s\n' "${notes[@]}"
fi

if [ "$sn_rc" != 0 ]; then
    echo "run.sh: the libseqnet benchmark failed" >&2
    exit "$sn_rc"
fi
if [ "$strict" = 1 ] && [ "$missed" != 0 ]; then
    echo "run.sh: --strict and a target was missed" >&2
    exit 3
fi
exit 0
