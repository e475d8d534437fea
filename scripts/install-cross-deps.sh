#!/bin/sh
# scripts/install-cross-deps.sh - installs what cross-building and testing
# libseqnet for another architecture needs (`make check-cross`), and only
# what is missing.
#
#   scripts/install-cross-deps.sh [--triple=aarch64-linux-gnu] [--dry-run] [--quiet]
#
# On Debian 12 with multiarch: the cross compiler (crossbuild-essential-ARCH),
# the target's development packages as foreign-architecture packages
# (libopenblas-dev:ARCH, check:ARCH, libsubunit-dev:ARCH, zlib1g-dev:ARCH;
# they install beside the native ones, in /usr/lib/TRIPLE), and
# qemu-user-static to run the test programs.  When the architecture is not
# yet a foreign architecture of dpkg it is added first
# (`dpkg --add-architecture ARCH`, then `apt-get update`).  It works like
# scripts/install-deps.sh: apt-get as root or through sudo, non-interactive,
# saying what it installs; prints nothing when nothing is missing (with
# --quiet); when it cannot install, one message with the exact commands,
# and exit 1.  SN_INSTALL_DEPS=no: never install, only report.
#
# The target's .pc files are read with the native pkg-config and
# PKG_CONFIG_LIBDIR=/usr/lib/TRIPLE/pkgconfig:/usr/share/pkgconfig (what
# the Makefile's check-cross passes on).  Supported: aarch64-linux-gnu
# (Debian arm64).  Everything is written to stderr.
set -u

cd "$(dirname "$0")/.." || exit 2

triple=aarch64-linux-gnu
dry_run=0
quiet=0
for arg in "$@"; do
    case $arg in
        --triple=*) triple=${arg#--triple=} ;;
        --dry-run) dry_run=1 ;;
        --quiet) quiet=1 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) echo "install-cross-deps: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf 'install-cross-deps: %s\n' "$*" >&2; }

# triple -> Debian architecture and qemu's name for the CPU
case $triple in
    aarch64-linux-gnu) arch=arm64; qemu_cpu=aarch64 ;;
    *) say "unsupported ARCH_TRIPLE '$triple' (supported: aarch64-linux-gnu)"; exit 2 ;;
esac

cc=$triple-gcc
pc=${PKG_CONFIG:-pkg-config}
pc_libdir=/usr/lib/$triple/pkgconfig:/usr/share/pkgconfig

have() { command -v "$1" >/dev/null 2>&1; }
pc_has() {
    have "$pc" && PKG_CONFIG_LIBDIR=$pc_libdir PKG_CONFIG_PATH='' \
        "$pc" --exists "$1" 2>/dev/null
}
cc_header() {
    printf '#include <%s>\n' "$1" | "$cc" -E -x c - >/dev/null 2>&1
}
foreign_arch() {
    dpkg --print-foreign-architectures 2>/dev/null | grep -qx "$arch"
}

missing=''
packages=''
need() { # need <what> <debian packages...>
    missing="$missing${missing:+, }$1"
    shift
    packages="$packages $*"
}

probe() {
    missing=''
    packages=''
    if ! have "$cc"; then
        need "the cross compiler ($cc)" "crossbuild-essential-$arch"
    elif ! cc_header stdio.h; then
        need "the $arch C library headers" "libc6-dev:$arch"
    fi
    have make || need "make" make
    have "$pc" || need "pkg-config" pkg-config
    pc_has openblas || need "OpenBLAS for $arch" "libopenblas-dev:$arch"
    pc_has check || need "Check for $arch" "check:$arch"
    pc_has libsubunit || need "subunit for $arch (used by Check)" "libsubunit-dev:$arch"
    pc_has zlib || need "zlib for $arch" "zlib1g-dev:$arch"
    { have "qemu-$qemu_cpu-static" || have "qemu-$qemu_cpu"; } ||
        need "qemu-$qemu_cpu-static (runs the $arch test programs)" qemu-user-static
    have bash || need "bash" bash
    # test locale (make check's locale tests; the compiled locale is the same)
    [ -e /usr/share/i18n/locales/de_DE ] ||
        need "the de_DE locale source (a decimal-comma locale for the locale tests)" locales
}

probe
if [ -z "$missing" ]; then
    [ "$quiet" = 1 ] || say "nothing missing for '$triple'"
    exit 0
fi

# shellcheck disable=SC2086  # one word per package
packages=$(printf '%s\n' $packages | sort -u | tr '\n' ' ' | sed 's/ $//')
to_install=$packages
add_arch=0
case " $packages" in *":$arch"*) foreign_arch || add_arch=1 ;; esac

say "missing for 'make check-cross ARCH_TRIPLE=$triple': $missing"

cannot() {
    say "$1"
    say "install them, then run make again:"
    s=''
    [ "$(id -u)" -eq 0 ] || s='sudo '
    if have apt-get; then
        [ "$add_arch" = 0 ] || say "    ${s}dpkg --add-architecture $arch && ${s}apt-get update"
        say "    ${s}apt-get install -y --no-install-recommends $packages"
    else
        say "    (Debian/Ubuntu with multiarch) apt-get install $packages"
        say "    (elsewhere) a $triple cross compiler, the target's OpenBLAS, Check and zlib, and qemu-user; see docs/BUILD.md"
    fi
    exit 1
}

[ "$dry_run" = 0 ] || cannot "--dry-run: would install: $packages"
case ${SN_INSTALL_DEPS:-yes} in
    no|0|false) cannot "SN_INSTALL_DEPS=${SN_INSTALL_DEPS} forbids installing" ;;
esac
have apt-get || cannot "no apt-get on this machine, so nothing can be installed automatically"

if [ "$(id -u)" -eq 0 ]; then
    run_root() { "$@"; }
elif have sudo && [ -t 0 ]; then
    run_root() { sudo "$@"; }
elif have sudo && sudo -n true 2>/dev/null; then
    run_root() { sudo -n "$@"; }
else
    cannot "not root, and no sudo that works without a terminal"
fi

apt_opts="-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -q"
apt() { # apt-get's own output goes to stderr too
    # shellcheck disable=SC2086
    run_root env DEBIAN_FRONTEND=noninteractive apt-get $apt_opts "$@" >&2
}

if [ "$add_arch" = 1 ]; then
    say "adding the foreign architecture $arch (dpkg --add-architecture $arch; apt-get update)"
    run_root dpkg --add-architecture "$arch" || cannot "dpkg --add-architecture $arch failed"
    apt update || cannot "apt-get update failed (see above)"
fi

say "installing with apt-get: $packages"
# shellcheck disable=SC2086
if ! apt install -y --no-install-recommends $packages; then
    say "apt-get install failed; running apt-get update and trying again"
    # shellcheck disable=SC2086
    { apt update && apt install -y --no-install-recommends $packages; } ||
        cannot "apt-get failed (see above; a native -dev package of another version than the $arch one blocks multiarch: both must be the same version)"
fi

probe
[ -z "$missing" ] || cannot "still missing after apt-get: $missing"
say "done: installed $to_install"
exit 0
