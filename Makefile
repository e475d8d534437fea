# Makefile for libseqnet (GNU make).
#
#   make                     build lib/libseqnet.so.X.Y.Z, its links, lib/libseqnet.a
#                            and lib/seqnet.pc
#   make check               build and run the Check unit tests, then test/*.sh
#                            (check, demo and the other goals that build first
#                            install missing Debian packages with
#                            scripts/install-deps.sh; SN_INSTALL_DEPS=no: don't)
#   make fuzz FUZZ_SECONDS=N the libFuzzer targets of test/fuzz/ (clang), N s each
#   make check-tsan          concurrent prediction under ThreadSanitizer
#   make check-cross ARCH_TRIPLE=aarch64-linux-gnu
#                            cross-build library and tests for ARM64 into
#                            build/aarch64-linux-gnu/ and lib/aarch64-linux-gnu/
#                            and run every test program under qemu-aarch64-static
#                            (installs the cross toolchain and the arm64
#                            packages when missing: scripts/install-cross-deps.sh;
#                            docs/BUILD.md "ARM64")
#   make coverage            make check with gcov, line/branch report (gcovr)
#   make demo                fetch the data if needed (make data), build the
#                            examples and run 03_text_classification --quick
#                            (00_demo.c while 03 does not exist)
#   make examples            build every examples/*.c (needs PLplot: Debian's
#                            libplplot-dev + plplot-driver-cairo)
#   make examples-quick      build the examples and run 01..05 with --quick into
#                            build/examples-quick/NN, then check their reports
#                            and figures (test/examples_quick.sh)
#   make install / uninstall PREFIX=/usr/local DESTDIR= LIBDIR=$(PREFIX)/lib
#                            (also seqnet.pc and the CMake package; ldconfig
#                            when there is no DESTDIR)
#   make doc                 API reference (Doxygen): build/doc/html, build/doc/man;
#                            fails on an undocumented public declaration
#   make install-man         the man pages into $(MANDIR)/man3
#   make abi-check           the ABI checks, abidiff against abi/libseqnet.abi
#   make abi-baseline        regenerate abi/libseqnet.abi (docs/ABI.md)
#   make bench               build build/bench/bench_rnn and run bench/run.sh:
#                            libseqnet vs PyTorch and oneDNN (peers skipped with a
#                            note when not installed); BENCH_STEPS=N
#                            BENCH_PASSES=N (interleaved, default 2) BENCH_MODELS=..
#   make mpi                 libseqnet-mpi (data-parallel training over MPI,
#                            docs/DISTRIBUTED.md): lib/libseqnet-mpi.so.X.Y.Z and
#                            lib/seqnet-mpi.pc; installs Open MPI's Debian
#                            packages when missing
#   make check-mpi           its tests under mpirun -np 2 and -np 3
#   make install-mpi         install it beside the library (make install also
#                            does once it is built)
#   make clean               remove build/ and lib/
#   make data                fetch the IMDB reviews into data/aclImdb
#                            (scripts/get-data.sh, docs/DATA.md)
#
# Options (give them on the command line, e.g. `make check BLAS=blis`):
#   BLAS=openblas            (default) OpenBLAS through pkg-config
#   BLAS=blis                Debian's libblis (no .pc file): headers and library
#                            are looked up under the multiarch directories,
#                            blis-pthread preferred over blis-serial; override
#                            with BLIS_INCDIR=... BLIS_LIBDIR=...
#   ARCH=native              add -march=native (the default build runs on any
#                            x86-64 and passes no -march flag)
#   ISA_PATHS=generic        build only the portable kernels (what a non-x86
#                            CPU gets; default on x86-64: avx512 avx2 generic,
#                            one copy each, chosen at run time: SN_CPU caps it)
#   SANITIZE=1               build library, tests and examples with
#                            AddressSanitizer + UBSan into build/asan-$(BLAS)/ and
#                            lib/asan/, leaving the normal build alone
#   SANITIZE=thread          the same with ThreadSanitizer (build/tsan-$(BLAS)/,
#                            lib/tsan/); `make check-tsan` runs the concurrency
#                            test with it
#   SANITIZE=coverage        gcov counters (build/cov-$(BLAS)/, lib/cov/);
#                            `make coverage` runs make check with them and
#                            writes a gcovr report to build/coverage/
#   CFLAGS=...               optimisation/debug flags (default -O2 -g);
#                            CPPFLAGS= and LDFLAGS= are passed on too
#
# The version comes from include/seqnet.h (SN_VERSION_MAJOR/MINOR/PATCH); that
# header is the single source of truth.

.SUFFIXES:
.DELETE_ON_ERROR:

SHELL := /bin/sh
CC ?= cc
PKG_CONFIG ?= pkg-config
INSTALL ?= install

# ---------------------------------------------------------------- version
HEADER := include/seqnet.h
SN_HASH := \#
sn_version_field = $(shell sed -n -E 's/^[[:space:]]*$(SN_HASH)[[:space:]]*define[[:space:]]+SN_VERSION_$(1)[[:space:]]+([0-9]+).*/\1/p' $(HEADER))
VERSION_MAJOR := $(call sn_version_field,MAJOR)
VERSION_MINOR := $(call sn_version_field,MINOR)
VERSION_PATCH := $(call sn_version_field,PATCH)
ifeq ($(strip $(VERSION_MAJOR)),)
$(error could not read SN_VERSION_MAJOR from $(HEADER))
endif
ifeq ($(strip $(VERSION_MINOR)),)
$(error could not read SN_VERSION_MINOR from $(HEADER))
endif
ifeq ($(strip $(VERSION_PATCH)),)
$(error could not read SN_VERSION_PATCH from $(HEADER))
endif
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

# ---------------------------------------------------------------- options
BLAS ?= openblas
ARCH ?=
SANITIZE ?=

# Goals that do not compile anything need no BLAS probing.
NOBUILD_GOALS := clean uninstall bench help data doc check-cross
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(NOBUILD_GOALS),$(MAKECMDGOALS)),)
SN_NOBUILD := 1
endif
endif

# ---------------------------------------------------------------- dependency bootstrap
# Before anything below calls pkg-config: scripts/install-deps.sh probes
# what the goals need (the library; Check for check/test; PLplot and the
# data download for demo/examples) and installs what is missing with
# apt-get, as root or through sudo.  With everything present it prints
# nothing and installs nothing.  SN_INSTALL_DEPS=no makes it only report.
# Nested makes (the test scripts' `make install`) skip it: SN_DEPS_DONE.
ifndef SN_NOBUILD
ifndef SN_DEPS_DONE
SN_DEPS_FOR := $(if $(filter demo examples examples-quick,$(MAKECMDGOALS)),demo,$(if \
    $(filter check test,$(MAKECMDGOALS)),check,lib))
SN_DEPS_RC := $(shell CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' \
    sh scripts/install-deps.sh --quiet --for=$(SN_DEPS_FOR) --blas=$(BLAS); echo $$?)
ifneq ($(SN_DEPS_RC),0)
$(error missing build dependencies (scripts/install-deps.sh said why, above))
endif
export SN_DEPS_DONE := 1
endif
endif

# ---------------------------------------------------------------- BLAS
ifeq ($(BLAS),openblas)
ifndef SN_NOBUILD
BLAS_CFLAGS := $(shell $(PKG_CONFIG) --cflags openblas)
BLAS_LIBS := $(shell $(PKG_CONFIG) --libs openblas)
ifeq ($(strip $(BLAS_LIBS)),)
$(error BLAS=openblas: `$(PKG_CONFIG) --libs openblas` failed; install libopenblas-dev)
endif
endif
# seqnet.pc names OpenBLAS's static link line in Libs.private, not
# Requires.private: a consumer then needs no openblas.pc (no OpenBLAS dev
# files) and gets no OpenBLAS include path.
PC_BLAS_LIBS_PRIVATE := $(if $(SN_NOBUILD),,$(shell $(PKG_CONFIG) --libs --static openblas))
else ifeq ($(BLAS),blis)
ifndef SN_NOBUILD
TRIPLET := $(shell $(CC) -print-multiarch 2>/dev/null)
BLIS_SEARCH_INC := $(if $(TRIPLET),/usr/include/$(TRIPLET)/blis-pthread \
    /usr/include/$(TRIPLET)/blis-serial /usr/include/$(TRIPLET)/blis \
    /usr/include/$(TRIPLET)) /usr/include/blis /usr/include
BLIS_SEARCH_LIB := $(if $(TRIPLET),/usr/lib/$(TRIPLET)/blis-pthread \
    /usr/lib/$(TRIPLET)/blis-serial /usr/lib/$(TRIPLET)) /usr/lib64 /usr/lib
ifndef BLIS_INCDIR
BLIS_INCDIR := $(patsubst %/blis.h,%,$(firstword $(wildcard \
    $(foreach d,$(BLIS_SEARCH_INC),$(if $(wildcard $(d)/cblas.h),$(d)/blis.h)))))
endif
ifndef BLIS_LIBDIR
BLIS_LIBDIR := $(patsubst %/libblis.so,%,$(firstword $(wildcard \
    $(addsuffix /libblis.so,$(BLIS_SEARCH_LIB)))))
endif
ifeq ($(strip $(BLIS_INCDIR)),)
$(error BLAS=blis: no blis.h + cblas.h found in $(BLIS_SEARCH_INC); install libblis-pthread-dev or set BLIS_INCDIR)
endif
ifeq ($(strip $(BLIS_LIBDIR)),)
$(error BLAS=blis: no libblis.so found in $(BLIS_SEARCH_LIB); install libblis-pthread-dev or set BLIS_LIBDIR)
endif
# Does the dynamic loader find libblis's SONAME by itself (on Debian through
# ld.so.cache and the alternatives link)?  Link and run a one-line cblas
# program without an rpath to find out; if it cannot run, record an rpath.
BLIS_RUNS := $(shell d=$$(mktemp -d) && \
    printf '$(SN_HASH)include <cblas.h>\nint main(void) { float x = 2.0f; return cblas_sdot(1, &x, 1, &x, 1) == 4.0f ? 0 : 1; }\n' >$$d/p.c && \
    $(CC) -I$(BLIS_INCDIR) -o $$d/p $$d/p.c -L$(BLIS_LIBDIR) -lblis -lm -lpthread >/dev/null 2>&1 && \
    $$d/p >/dev/null 2>&1 && echo yes; rm -rf $$d)
BLIS_RPATH ?= $(if $(BLIS_RUNS),,-Wl,-rpath,$(BLIS_LIBDIR))
BLAS_CFLAGS := -isystem $(BLIS_INCDIR)
BLAS_LIBS := -L$(BLIS_LIBDIR) $(BLIS_RPATH) -lblis
PC_BLAS_LIBS_PRIVATE := -L$(BLIS_LIBDIR) -lblis
endif
else
$(error unknown BLAS=$(BLAS); use BLAS=openblas or BLAS=blis)
endif

# ---------------------------------------------------------------- kernels
# ISA_PATHS: the paths to build.  x86-64 with a compiler that knows the
# x86-64-v3/v4 levels (GCC >= 11, clang >= 12): all three; anything else,
# or ISA_PATHS=generic on the command line: the portable kernels only
# (what a non-x86 CPU runs; `make check ISA_PATHS=generic` tests that
# build on any machine).
ifndef SN_NOBUILD
SN_X86_CC := $(shell case "$$($(CC) -dumpmachine 2>/dev/null)" in \
    (x86_64-*|amd64-*) echo 'int x;' | $(CC) -march=x86-64-v4 -x c -c \
        -o /dev/null - >/dev/null 2>&1 && echo yes;; esac)
endif
ISA_PATHS ?= $(if $(SN_X86_CC),avx512 avx2 generic,generic)
ifneq ($(filter-out avx512 avx2 generic,$(ISA_PATHS)),)
$(error ISA_PATHS may hold avx512, avx2 and generic, got '$(ISA_PATHS)')
endif
ifeq ($(filter generic,$(ISA_PATHS)),)
$(error ISA_PATHS must include generic)
endif
ifneq ($(filter avx512 avx2,$(ISA_PATHS)),avx512 avx2)
ifneq ($(filter avx512 avx2,$(ISA_PATHS)),)
$(error ISA_PATHS: build avx512 and avx2 together, or neither)
endif
endif
ISA_DEFS := $(if $(filter avx512,$(ISA_PATHS)),-DSN_X86_KERNELS)
# ---------------------------------------------------------------- dirs
ifeq ($(SANITIZE),1)
VARIANT := asan-$(BLAS)
LIBOUT := lib/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
    -fno-sanitize-recover=all
else ifeq ($(SANITIZE),thread)
# ThreadSanitizer (issue 14): `make check-tsan` builds into build/tsan-$(BLAS)/
VARIANT := tsan-$(BLAS)
LIBOUT := lib/tsan
SAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(SANITIZE),coverage)
# gcov instrumentation for `make coverage` (issue 14): build/cov-$(BLAS)/
VARIANT := cov-$(BLAS)
LIBOUT := lib/cov
SAN_FLAGS := -O0 --coverage -fprofile-update=atomic
else ifeq ($(SANITIZE),)
VARIANT := $(BLAS)
LIBOUT := lib
SAN_FLAGS :=
else
$(error SANITIZE must be 1, thread, coverage or empty, got '$(SANITIZE)')
endif
ifneq ($(ARCH),)
VARIANT := $(VARIANT)-$(ARCH)
ARCH_FLAGS := -march=$(ARCH)
endif
# A generic-only build where the x86 paths could be built is a variant of
# its own (the test build of the portable kernels), beside the full one.
ifneq ($(SN_X86_CC),)
ifeq ($(filter avx512,$(ISA_PATHS)),)
VARIANT := $(VARIANT)-generic
LIBOUT := $(LIBOUT)/generic
endif
endif
# A cross build (`make check-cross`, which sets SN_CROSS to the target
# triple) lives in folders of its own, never mixed with the native objects.
# Its tests run under emulation (qemu user mode), which is roughly 10 to 30
# times slower than the host: CROSS_TIME_FACTOR scales their time-outs.
ARCH_TRIPLE ?= aarch64-linux-gnu
CROSS_TIME_FACTOR := 20
PCDIR := lib
ifneq ($(SN_CROSS),)
LIBOUT := lib/$(SN_CROSS)$(patsubst lib%,%,$(LIBOUT))
PCDIR := lib/$(SN_CROSS)
VARIANT := $(SN_CROSS)/$(VARIANT)
endif
BUILDDIR := build/$(VARIANT)

# ---------------------------------------------------------------- flags
CFLAGS ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Werror=implicit-function-declaration
BASE_CFLAGS := -std=c11 $(CPPFLAGS) $(CFLAGS) $(ARCH_FLAGS) $(SAN_FLAGS) \
    -D_POSIX_C_SOURCE=200809L -Iinclude $(WARNFLAGS)
LIB_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -DSN_BUILDING_LIBRARY \
    -Isrc $(BLAS_CFLAGS) -DSN_BLAS_NAME=\"$(BLAS)\" $(ISA_DEFS)
DEPFLAGS = -MMD -MP -MF $(@:.o=.d)
SYS_LIBS := -lm -lpthread -lz

ifndef SN_NOBUILD
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check)
endif

# ---------------------------------------------------------------- files
# Kernels compiled once per instruction-set path (src/kernels/cpu.h): each
# copy gets its path's -march flags and exports one table named after the
# path; the library picks a table at run time (sn_cpu_isa, SN_CPU).
ISA_SRCS := src/kernels/gemm_kernel.c src/kernels/vecmath.c \
            src/layers/rnn_cells.c
# src/mpi/ is libseqnet-mpi (`make mpi`), not part of libseqnet.
LIB_SRCS := $(filter-out $(ISA_SRCS) src/mpi/%,$(sort $(wildcard src/*.c src/*/*.c)))

# -march per path; generic keeps the build's own flags (baseline, or
# ARCH=native where asked).  AVX-512: GCC's default for that level is
# 256-bit auto-vectorisation; the element-wise loops want the full width.
ISA_FLAGS_avx512 := -march=x86-64-v4 -mtune=generic -mprefer-vector-width=512
ISA_FLAGS_avx2 := -march=x86-64-v3 -mtune=generic
ISA_FLAGS_generic :=
isa_table_defs = -DSN_GEMM_OPS=sn_gemm_ops_$(1) \
    -DSN_VECMATH_OPS=sn_vecmath_ops_$(1) -DSN_RNN_CELL_OPS=sn_rnn_cell_ops_$(1)
ISA_OBJS := $(foreach i,$(ISA_PATHS),$(ISA_SRCS:%.c=$(BUILDDIR)/isa-$(i)/%.o))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILDDIR)/%.o) $(ISA_OBJS)

# The element-wise and matrix kernels of the recurrent layers: -O3 lets GCC
# vectorise their loops, without trapping math it may if-convert the clamps
# in them, and -ffp-contract=fast turns a*b+c into FMA instructions (ISO C
# mode leaves contraction off).  The library reads no floating-point
# exception flags, so nothing observable changes but rounding in the last
# bit.
HOT_SRCS := src/kernels/activations.c src/layers/rnn_core.c src/data/glove_train.c
HOT_CFLAGS := -O3 -ffp-contract=fast -fno-trapping-math -fno-math-errno

MAPFILE := src/libseqnet.map

SONAME := libseqnet.so.$(VERSION_MAJOR)
SHLIB := $(LIBOUT)/libseqnet.so.$(VERSION)
SHLIB_MAJOR := $(LIBOUT)/$(SONAME)
SHLIB_DEV := $(LIBOUT)/libseqnet.so
STLIB := $(LIBOUT)/libseqnet.a
PCFILE := $(PCDIR)/seqnet.pc
CMAKE_FILES := $(PCDIR)/cmake/seqnetConfig.cmake $(PCDIR)/cmake/seqnetConfigVersion.cmake

TEST_SRCS := $(sort $(wildcard test/check_*.c))
TEST_INTERNAL_SRCS := $(filter test/check_internal%,$(TEST_SRCS))
TEST_PUBLIC_SRCS := $(filter-out $(TEST_INTERNAL_SRCS),$(TEST_SRCS))
TEST_BINS := $(TEST_SRCS:%.c=$(BUILDDIR)/%)
# Helpers every test program shares (test/support/testkit.h and friends):
# compiled once per build variant, linked into each test program.
TEST_SUPPORT_SRCS := $(sort $(wildcard test/support/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILDDIR)/%.o)
# (test/examples_quick.sh is `make examples-quick`, not part of `make check`.)
TEST_SCRIPTS := $(filter-out test/examples_quick.sh,$(sort $(wildcard test/*.sh)))

EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLE_BINS := $(EXAMPLE_SRCS:%.c=$(BUILDDIR)/%)
# What the course examples share (options, report.md, PLplot figures).
EXAMPLE_COMMON_SRCS := $(sort $(wildcard examples/common/*.c))
EXAMPLE_COMMON_OBJS := $(EXAMPLE_COMMON_SRCS:%.c=$(BUILDDIR)/%.o)

# Stamps: rewritten only when their content changes, so that switching BLAS,
# ARCH, CFLAGS or PREFIX rebuilds what depends on them and nothing else.
define sn_stamp
$(shell mkdir -p $(dir $(1)) && { [ "$$(cat $(1) 2>/dev/null)" = '$(2)' ] || \
    printf '%s\n' '$(2)' > $(1); })
endef
CFLAGS_STAMP := $(BUILDDIR)/.cflags
LINK_STAMP := $(LIBOUT)/.link-$(BLAS)
LINK_STAMP_ALL := $(wildcard $(LIBOUT)/.link-*)
ifndef SN_NOBUILD
$(call sn_stamp,$(CFLAGS_STAMP),$(CC) $(LIB_CFLAGS) $(HOT_CFLAGS) $(CHECK_CFLAGS))
# One link stamp per lib dir: the lib is relinked when the BLAS changes.
$(foreach s,$(filter-out $(LINK_STAMP),$(LINK_STAMP_ALL)),$(shell rm -f $(s)))
$(call sn_stamp,$(LINK_STAMP),$(VARIANT) $(CC) $(LDFLAGS) $(SAN_FLAGS) $(BLAS_LIBS))
endif

# ---------------------------------------------------------------- install dirs
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR ?= $(LIBDIR)/cmake/seqnet
DOCDIR ?= $(PREFIX)/share/doc/libseqnet
EXAMPLEDIR ?= $(DOCDIR)/examples

PC_STAMP := $(PCDIR)/.pc-vars
ifndef SN_NOBUILD
$(call sn_stamp,$(PC_STAMP),$(PREFIX)|$(LIBDIR)|$(INCLUDEDIR)|$(CMAKEDIR)|$(VERSION)|$(BLAS)|$(PC_BLAS_LIBS_PRIVATE))
endif

DOC_FILES := $(strip $(sort $(wildcard docs/*.md)) $(wildcard README.md CHANGELOG.md))
EXAMPLE_DOC_FILES := $(strip $(EXAMPLE_SRCS) $(wildcard examples/README.md))

# ================================================================ targets
.PHONY: all lib check test demo examples examples-quick bench bench-build install uninstall clean help

all: lib

lib: $(SHLIB) $(SHLIB_MAJOR) $(SHLIB_DEV) $(STLIB) $(if $(SANITIZE),,$(PCFILE) $(CMAKE_FILES))

help:
	@sed -n '2,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

$(BUILDDIR)/%.o: %.c $(CFLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(HOT_FLAGS) $(DEPFLAGS) -c $< -o $@

# The hot kernels get HOT_CFLAGS (defined with the other flags above).
$(HOT_SRCS:%.c=$(BUILDDIR)/%.o): HOT_FLAGS := $(HOT_CFLAGS)

# One copy of each ISA_SRCS file per path, with the path's flags.
define isa_rule
$$(BUILDDIR)/isa-$(1)/%.o: %.c $$(CFLAGS_STAMP)
	@mkdir -p $$(@D)
	$$(CC) $$(LIB_CFLAGS) $$(HOT_CFLAGS) $$(ISA_FLAGS_$(1)) \
	    $$(call isa_table_defs,$(1)) $$(DEPFLAGS) -c $$< -o $$@
endef
$(foreach i,$(ISA_PATHS),$(eval $(call isa_rule,$(i))))

$(SHLIB): $(LIB_OBJS) $(MAPFILE) $(LINK_STAMP)
	@mkdir -p $(@D)
	$(CC) -shared $(SAN_FLAGS) $(LDFLAGS) -Wl,-soname,$(SONAME) \
	    -Wl,--version-script=$(MAPFILE) -Wl,--no-undefined \
	    -o $@ $(LIB_OBJS) $(BLAS_LIBS) $(SYS_LIBS)

$(SHLIB_MAJOR): $(SHLIB)
	ln -sf $(notdir $<) $@

$(SHLIB_DEV): $(SHLIB_MAJOR)
	ln -sf $(notdir $<) $@

$(STLIB): $(LIB_OBJS) $(LINK_STAMP)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(PCFILE): pkgconfig/seqnet.pc.in $(PC_STAMP) $(HEADER)
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' \
	    -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@BLAS@|$(BLAS)|g' \
	    -e 's|@BLAS_LIBS_PRIVATE@|$(PC_BLAS_LIBS_PRIVATE)|g' \
	    $< > $@

# ---------------------------------------------------------------- CMake package
# lib/cmake/seqnetConfig*.cmake, installed into $(CMAKEDIR): find_package(seqnet
# CONFIG) and the imported targets seqnet::seqnet / seqnet::seqnet_static.
# The include and lib folders are written relative to $(CMAKEDIR), so a
# DESTDIR-staged tree works too.
CMAKE_REL_INCLUDEDIR = $(shell realpath -m --relative-to='$(CMAKEDIR)' '$(INCLUDEDIR)')
CMAKE_REL_LIBDIR = $(shell realpath -m --relative-to='$(CMAKEDIR)' '$(LIBDIR)')
CMAKE_STATIC_LIBS = $(strip $(PC_BLAS_LIBS_PRIVATE) -lm -lpthread -lz)
CMAKE_SED = sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(VERSION_MAJOR)|g' \
    -e 's|@BLAS@|$(BLAS)|g' -e 's|@REL_INCLUDEDIR@|$(CMAKE_REL_INCLUDEDIR)|g' \
    -e 's|@REL_LIBDIR@|$(CMAKE_REL_LIBDIR)|g' -e 's|@STATIC_LIBS@|$(CMAKE_STATIC_LIBS)|g' \
    -e 's|@SIZEOF_VOID_P@|$(shell $(CC) -dM -E -x c /dev/null | sed -n 's/^.define __SIZEOF_POINTER__ //p')|g'

$(PCDIR)/cmake/%.cmake: cmake/%.cmake.in $(PC_STAMP) $(HEADER)
	@mkdir -p $(@D)
	$(CMAKE_SED) $< > $@

# ---------------------------------------------------------------- tests
TEST_CFLAGS := $(BASE_CFLAGS) $(CHECK_CFLAGS)
TEST_LINK_PUBLIC := -L$(LIBOUT) -lseqnet -Wl,-rpath,$(abspath $(LIBOUT))
TEST_LINK_LIBS := $(CHECK_LIBS) $(BLAS_LIBS) $(SYS_LIBS)

$(BUILDDIR)/test/%.o: test/%.c $(CFLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(TEST_INC) $(DEPFLAGS) -c $< -o $@

# Only the internal tests see src/ (internal.h).
$(TEST_INTERNAL_SRCS:%.c=$(BUILDDIR)/%.o): TEST_INC := -Isrc

# Public-API tests link the shared library ...
$(TEST_PUBLIC_SRCS:%.c=$(BUILDDIR)/%): $(BUILDDIR)/%: $(BUILDDIR)/%.o \
        $(TEST_SUPPORT_OBJS) $(SHLIB_DEV)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) \
	    $(TEST_LINK_PUBLIC) $(TEST_LINK_LIBS)

# ... internal tests the static one, to reach hidden functions.
$(TEST_INTERNAL_SRCS:%.c=$(BUILDDIR)/%): $(BUILDDIR)/%: $(BUILDDIR)/%.o \
        $(TEST_SUPPORT_OBJS) $(STLIB)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(STLIB) \
	    $(TEST_LINK_LIBS)

ifeq ($(SANITIZE),1)
TEST_ENV := CK_FORK=no ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
TEST_ENV :=
endif
TEST_ENV += SN_TEST_DATA=$(CURDIR)/test/data

# Check's per-test time-outs are multiplied by SN_TEST_TIME_FACTOR (Check
# reads CK_TIMEOUT_MULTIPLIER): 1 natively; under emulation (check-cross)
# every instruction costs many times more, so the same tests get
# proportionally more time.  The tests themselves are the same.
SN_TEST_TIME_FACTOR ?= $(if $(SN_CROSS),$(CROSS_TIME_FACTOR),1)
TEST_ENV += CK_TIMEOUT_MULTIPLIER=$(SN_TEST_TIME_FACTOR) \
    SN_TEST_TIME_FACTOR=$(SN_TEST_TIME_FACTOR)

# ---------------------------------------------------------------- skips, test locale (issue 14)
# A test that cannot run (data or locale missing) calls tk_skip: it appends
# to SKIP_LOG, and the summary of `make check` counts those lines, so a skip
# never reads as a pass.  With CI=true (or SN_REQUIRE_DATA=1) a skip fails.
# The locale tests need a locale with a decimal comma: the system's, or
# de_DE.UTF-8 compiled here with localedef (Debian: package locales).
SKIP_LOG := $(CURDIR)/$(BUILDDIR)/skipped.log
# The Check programs run SN_TEST_JOBS at a time (scripts/run-checks.sh;
# each one's output printed whole when it ends); the failed ones are listed
# in FAILED_LOG.
SN_TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# The longest programs start first (measured on the 2-core AVX-512 host:
# each 10-25 s natively, the rest under 7 s; check_robustness takes about
# 10 minutes under qemu), so the short ones fill the other cores instead of
# waiting behind them.
SLOW_TEST_BINS := $(addprefix $(BUILDDIR)/test/,check_robustness \
    check_internal_kernels check_save check_text check_data check_bpe)
TEST_RUN_ORDER := $(filter $(SLOW_TEST_BINS),$(TEST_BINS)) \
    $(filter-out $(SLOW_TEST_BINS),$(TEST_BINS))
# Run alone: under qemu-user (make check-cross) check_robustness grows to
# 13 GB, because qemu keeps the memory of every thread that has ended and
# the test loads models (each with its worker threads) thousands of times;
# beside another program it met the OOM killer on a 24 GB machine.
SOLO_TEST_BINS := $(if $(SN_CROSS),$(BUILDDIR)/test/check_robustness)
FAILED_LOG := $(CURDIR)/$(BUILDDIR)/failed.log
TEST_LOCALE_DIR := build/locale
TEST_LOCALE := $(TEST_LOCALE_DIR)/de_DE.UTF-8
TEST_ENV += SN_TEST_SKIP_LOG=$(SKIP_LOG) \
    SN_TEST_LOCPATH=$(CURDIR)/$(TEST_LOCALE_DIR)

$(TEST_LOCALE):
	@mkdir -p $(@D)
	@localedef -i de_DE -f UTF-8 $@ >/dev/null 2>&1 || \
	    { rm -rf $@; echo "note: localedef de_DE.UTF-8 failed; locale tests \
need a decimal-comma locale (install Debian's locales)"; }

# `make check-tsan`: the concurrent-prediction test (test/check_robustness.c:
# 8 threads on shared every-layer models, results compared with serial runs),
# the thread pool's stress tests and the threaded recurrent batches
# (check_internal_kernels pool, check_rnn_batch) built and run under
# ThreadSanitizer.  OpenBLAS runs single-threaded there
# (its own threads are not instrumented); test/tsan.supp lists what is
# suppressed and why.
.PHONY: check-tsan tsan-run
check-tsan:
	$(MAKE) --no-print-directory SANITIZE=thread BLAS=$(BLAS) tsan-run

tsan-run: lib $(BUILDDIR)/test/check_robustness \
        $(BUILDDIR)/test/check_internal_kernels $(BUILDDIR)/test/check_rnn_batch
	CK_FORK=no OPENBLAS_NUM_THREADS=1 \
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/test/tsan.supp" \
	    ./$(BUILDDIR)/test/check_robustness concurrency
	CK_FORK=no CK_RUN_CASE=pool \
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/test/tsan.supp" \
	    ./$(BUILDDIR)/test/check_internal_kernels
	CK_FORK=no OPENBLAS_NUM_THREADS=1 \
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/test/tsan.supp" \
	    ./$(BUILDDIR)/test/check_rnn_batch

# `make coverage`: the library built with gcov counters (SANITIZE=coverage,
# -O0 --coverage into build/cov-$(BLAS)/), make check run with it, then a
# line and branch report of src/ by gcovr: the summary on the terminal,
# the details in build/coverage/index.html (docs/RELIABILITY.md).
.PHONY: coverage
COVERAGE_DIR := build/coverage
coverage:
	find build/cov-$(BLAS) -name '*.gcda' -delete 2>/dev/null || true
	$(MAKE) --no-print-directory SANITIZE=coverage BLAS=$(BLAS) check
	@mkdir -p $(COVERAGE_DIR)
	gcovr --root . --filter 'src/' --exclude-unreachable-branches \
	    --exclude-throw-branches --gcov-ignore-parse-errors --print-summary \
	    --txt $(COVERAGE_DIR)/summary.txt \
	    --html-details $(COVERAGE_DIR)/index.html build/cov-$(BLAS)
# ---------------------------------------------------------------- end (issue 14)

# Runs every Check program (SN_TEST_JOBS at a time, the slowest first), then
# every test/*.sh; fails if any failed.
# The tests that exercise the per-path kernels (matrix products, vector
# math, cell rows: the recurrent, layer and gradient tests) run once more
# for each narrower path this CPU can run, with SN_CPU forcing it, so an
# AVX-512 machine tests its AVX2 and generic kernels too.
ISA_TEST_BINS := $(addprefix $(BUILDDIR)/test/,check_rnn check_rnn_batch \
    check_layers check_attention check_mha check_conv check_internal_kernels)
# On aarch64 (native, or cross under qemu) the neon and generic paths share
# one copy of the vector math and the cell rows and differ only in the
# recurrent layers' matrix products (the CBLAS or the portable block), so
# only the tests that reach those run again: the other four would run the
# very same code a second time (which, emulated, costs minutes).
SN_TARGET_CPU := $(if $(SN_NOBUILD),,$(firstword $(subst -, ,$(shell $(CC) -dumpmachine 2>/dev/null))))
ifeq ($(SN_TARGET_CPU),aarch64)
ISA_TEST_BINS := $(addprefix $(BUILDDIR)/test/,check_rnn check_rnn_batch \
    check_internal_kernels)
endif
PRINT_ISA := $(BUILDDIR)/test/print_isa

$(PRINT_ISA): test/print_isa.c $(HEADER) $(SHLIB_DEV)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_LINK_PUBLIC) $(SYS_LIBS)

check: lib $(TEST_BINS) $(PRINT_ISA) | $(TEST_LOCALE)
	@failed=''; rm -f '$(SKIP_LOG)' '$(FAILED_LOG)'; \
	default_isa=$$($(SN_EXEC) ./$(PRINT_ISA)); \
	{ for t in $(TEST_RUN_ORDER); do \
	    case " $(SOLO_TEST_BINS) " in *" $$t "*) mode=solo;; *) mode=;; esac; \
	    printf '%s (%s)\t%s ./%s\t%s\n' "$$t" "$$default_isa" \
	        '$(TEST_ENV) $(SN_EXEC)' "$$t" "$$mode"; \
	  done; \
	  for isa in $(ISA_PATHS); do \
	    [ "$$isa" != "$$default_isa" ] || continue; \
	    [ "$$(SN_CPU=$$isa $(SN_EXEC) ./$(PRINT_ISA))" = "$$isa" ] || { \
	        echo "== SN_CPU=$$isa: this CPU cannot run it, not tested" >&2; \
	        continue; }; \
	    for t in $(ISA_TEST_BINS); do \
	        printf '%s(SN_CPU=%s)\tSN_CPU=%s %s ./%s\n' "$$t" "$$isa" \
	            "$$isa" '$(TEST_ENV) $(SN_EXEC)' "$$t"; \
	    done; \
	  done; } | bash scripts/run-checks.sh $(SN_TEST_JOBS) '$(FAILED_LOG)'; \
	if [ -s '$(FAILED_LOG)' ]; then \
	    failed=" $$(tr '\n' ' ' < '$(FAILED_LOG)')"; \
	fi; \
	for s in $(TEST_SCRIPTS); do \
	    case " $(CROSS_SKIP_SCRIPTS) " in *" $$s "*) \
	        echo "== $$s: not run for $(SN_CROSS): $(CROSS_SKIP_WHY)"; \
	        continue;; esac; \
	    echo "== $$s"; \
	    MAKE='$(MAKE)' SN_LIBDIR='$(LIBOUT)' SN_SANITIZE='$(SANITIZE)' \
	        SN_BLAS='$(BLAS)' bash $$s || failed="$$failed $$s"; \
	done; \
	skipped=0; \
	if [ -s '$(SKIP_LOG)' ]; then \
	    skipped=$$(wc -l < '$(SKIP_LOG)'); \
	    echo "SKIPPED ($$skipped, not passed):"; sed 's/^/  /' '$(SKIP_LOG)'; \
	fi; \
	if [ -n "$$failed" ]; then \
	    echo "FAILED:$$failed"; exit 1; \
	fi; \
	echo "all tests passed ($(VARIANT)), $$skipped skipped"

test: check

# ---------------------------------------------------------------- cross build (issue 20)
# `make check-cross ARCH_TRIPLE=aarch64-linux-gnu`: scripts/install-cross-deps.sh
# installs what is missing (the cross compiler, the arm64 multiarch -dev
# packages, qemu-user-static), then `make check` runs again with the cross
# compiler, the target's .pc files (PKG_CONFIG_LIBDIR) and SN_CROSS set:
# objects in build/$(ARCH_TRIPLE)/, libraries in lib/$(ARCH_TRIPLE)/, and
# every program it runs (each Check program, print_isa, the fuzz replay)
# started through SN_EXEC, qemu-<cpu>-static.  Only the generic path is
# built (ISA_PATHS: the x86 paths need an x86 compiler), so there are no
# per-path reruns of the layer tests; check_internal_kernels tests every
# kernel table the build has.  Test scripts that read the sources or docs
# (the same on every architecture), inspect the native ELF files or run
# installed consumers are left to the native `make check`: CROSS_SKIP_SCRIPTS.
CROSS_PKG_CONFIG_LIBDIR = /usr/lib/$(ARCH_TRIPLE)/pkgconfig:/usr/share/pkgconfig
.PHONY: check-cross
check-cross:
	@[ '$(BLAS)' = openblas ] || { echo "check-cross: BLAS=openblas only" >&2; exit 2; }
	@sh scripts/install-cross-deps.sh --quiet --triple=$(ARCH_TRIPLE)
	PKG_CONFIG_LIBDIR=$(CROSS_PKG_CONFIG_LIBDIR) PKG_CONFIG_PATH= \
	    $(MAKE) --no-print-directory SN_CROSS=$(ARCH_TRIPLE) \
	    CC=$(ARCH_TRIPLE)-gcc AR=$(ARCH_TRIPLE)-ar SN_DEPS_DONE=1 check

ifneq ($(SN_CROSS),)
SN_QEMU_CPU := $(firstword $(subst -, ,$(SN_CROSS)))
SN_EXEC ?= $(firstword $(shell command -v qemu-$(SN_QEMU_CPU)-static \
    qemu-$(SN_QEMU_CPU) 2>/dev/null))
ifeq ($(strip $(SN_EXEC)),)
$(error SN_CROSS=$(SN_CROSS): no qemu-$(SN_QEMU_CPU)-static to run the tests; install qemu-user-static)
endif
CROSS_SKIP_SCRIPTS := test/abi_check.sh test/abi_diff.sh test/api_doc.sh \
    test/doc_check.sh test/layering.sh test/source_rules.sh \
    test/pkgconfig_consumer.sh test/cmake_consumer.sh
CROSS_SKIP_WHY := reads sources/docs or the native ELF files, or runs installed \
consumers: the native make check covers it
endif
# ---------------------------------------------------------------- end cross build (issue 20)

# ---------------------------------------------------------------- fuzzing (issue 14)
# test/fuzz/fuzz_<name>.c are libFuzzer targets (docs/RELIABILITY.md).
#   make fuzz FUZZ_SECONDS=N   build them with clang (-fsanitize=fuzzer,
#                              address,undefined) into build/fuzz/ and run
#                              each for N seconds (default 60) from its seed
#                              corpus test/fuzz/corpus/<name>/ (read only:
#                              new inputs go to build/fuzz/work/<name>/,
#                              crashes to build/fuzz/crashes/)
#   make fuzz-replay           build them with $(CC) as plain programs
#                              (test/fuzz/replay.c) and run every corpus
#                              file once; part of `make check` (under ASan
#                              with SANITIZE=1) through test/fuzz_replay.sh
#   make fuzz-seeds            rewrite the library-written seeds
#                              (test/fuzz/make_seeds.c)
FUZZ_TARGETS := $(patsubst test/fuzz/fuzz_%.c,%,$(sort $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_CORPUS := test/fuzz/corpus
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
    -fsanitize=fuzzer-no-link -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc \
    -DSN_BUILDING_LIBRARY $(BLAS_CFLAGS) -DSN_BLAS_NAME=\"$(BLAS)\"
# (the per-path kernels in their generic copy only: FUZZ_CFLAGS has no
# SN_X86_KERNELS, so the dispatch knows that copy alone)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_DIR)/%.o) \
    $(ISA_SRCS:%.c=$(FUZZ_DIR)/isa-generic/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_DIR)/isa-generic/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(call isa_table_defs,generic) \
	    -MMD -MP -MF $(@:.o=.d) -c $< -o $@

$(FUZZ_DIR)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -MF $(@:.o=.d) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/test/fuzz/fuzz_%.o \
        $(FUZZ_DIR)/test/fuzz/scratch.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(BLAS_LIBS) \
	    $(SYS_LIBS)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-seeds
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@set -e; mkdir -p $(FUZZ_DIR)/crashes; \
	for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/work/$$t; \
	    echo "== fuzz_$$t: $(FUZZ_SECONDS) s"; \
	    log=$(FUZZ_DIR)/$$t.log; rc=0; \
	    $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	        -rss_limit_mb=3072 -max_len=65536 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/crashes/$$t- \
	        $(FUZZ_DIR)/work/$$t $(FUZZ_CORPUS)/$$t >$$log 2>&1 || rc=$$?; \
	    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' $$log || true; \
	    if [ $$rc -ne 0 ] || ls $(FUZZ_DIR)/crashes/$$t-* >/dev/null 2>&1; then \
	        tail -40 $$log; \
	        echo "fuzz_$$t: FINDINGS (exit $$rc) in $(FUZZ_DIR)/crashes/"; \
	        exit 1; \
	    fi; \
	done; echo "fuzz: no findings"

FUZZ_REPLAY_DIR := $(BUILDDIR)/fuzz-replay
FUZZ_REPLAY_BINS := $(FUZZ_TARGETS:%=$(FUZZ_REPLAY_DIR)/fuzz_%)

$(FUZZ_REPLAY_DIR)/%.o: test/fuzz/%.c test/fuzz/fuzz.h $(CFLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Itest/fuzz -c $< -o $@

$(FUZZ_REPLAY_DIR)/fuzz_%: $(FUZZ_REPLAY_DIR)/fuzz_%.o \
        $(FUZZ_REPLAY_DIR)/replay.o $(FUZZ_REPLAY_DIR)/scratch.o $(SHLIB_DEV)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) \
	    $(TEST_LINK_PUBLIC) $(SYS_LIBS)

fuzz-replay: lib $(FUZZ_REPLAY_BINS)
	@for t in $(FUZZ_TARGETS); do \
	    log=$(FUZZ_REPLAY_DIR)/$$t.log; \
	    $(SN_RUN_ENV) $(SN_EXEC) ./$(FUZZ_REPLAY_DIR)/fuzz_$$t $(FUZZ_CORPUS)/$$t \
	        2>$$log || { tail -40 $$log; echo "fuzz-replay: fuzz_$$t FAILED"; exit 1; }; \
	done

$(FUZZ_REPLAY_DIR)/make_seeds: test/fuzz/make_seeds.c $(SHLIB_DEV)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -o $@ $< $(TEST_LINK_PUBLIC) $(SYS_LIBS)

fuzz-seeds: $(FUZZ_REPLAY_DIR)/make_seeds
	./$< $(FUZZ_CORPUS)

# (kept: make would delete them as intermediate files)
.SECONDARY: $(FUZZ_LIB_OBJS) $(FUZZ_TARGETS:%=$(FUZZ_DIR)/test/fuzz/fuzz_%.o) \
    $(FUZZ_DIR)/test/fuzz/scratch.o $(FUZZ_TARGETS:%=$(FUZZ_REPLAY_DIR)/fuzz_%.o) \
    $(FUZZ_REPLAY_DIR)/replay.o $(FUZZ_REPLAY_DIR)/scratch.o

ifneq ($(filter fuzz fuzz-build,$(MAKECMDGOALS)),)
-include $(FUZZ_LIB_OBJS:.o=.d)
endif
# ---------------------------------------------------------------- end fuzzing (issue 14)

# ---------------------------------------------------------------- examples
# Every examples/*.c is one program, linked with examples/common/*.c, the
# shared library (rpath to it) and PLplot.
# (Recursive variables: pkg-config runs only when an example is built, so
# the library and its tests build without PLplot.)
PLPLOT_CFLAGS = $(shell $(PKG_CONFIG) --cflags plplot)
PLPLOT_LIBS = $(shell $(PKG_CONFIG) --libs plplot)
PLPLOT_CHECK = @$(PKG_CONFIG) --exists plplot || { echo "the examples draw \
with PLplot: install libplplot-dev and plplot-driver-cairo \
(\`$(PKG_CONFIG) --libs plplot\` failed)" >&2; exit 1; }
EXAMPLE_CFLAGS = $(BASE_CFLAGS) -Iexamples/common $(PLPLOT_CFLAGS)
EXAMPLE_LINK = -L$(LIBOUT) -lseqnet -Wl,-rpath,$(abspath $(LIBOUT)) \
    $(PLPLOT_LIBS) $(SYS_LIBS)

$(BUILDDIR)/examples/common/%.o: examples/common/%.c $(CFLAGS_STAMP)
	$(PLPLOT_CHECK)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILDDIR)/examples/%: examples/%.c $(EXAMPLE_COMMON_OBJS) $(SHLIB_DEV) \
        $(CFLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) -MMD -MP -MF $@.d $(SAN_FLAGS) $(LDFLAGS) -o $@ \
	    $< $(EXAMPLE_COMMON_OBJS) $(EXAMPLE_LINK)

# (Kept: make would delete them as intermediate files otherwise.)
.SECONDARY: $(EXAMPLE_COMMON_OBJS)

examples: $(EXAMPLE_BINS)

SN_RUN_ENV := $(if $(SANITIZE),ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)

# Runs 01..05 (those that exist) with --quick, each under 2 minutes, and
# checks that each wrote report.md and at least one figure.
examples-quick: examples
	$(MAKE) --no-print-directory data
	$(SN_RUN_ENV) SN_EXAMPLES_BIN='$(BUILDDIR)/examples' \
	    SN_EXAMPLES_OUT=build/examples-quick bash test/examples_quick.sh

# The demo: IMDB sentiment with a BiGRU and an NBSVM (example 03 --quick).
DEMO_SRC := $(wildcard examples/03_text_classification.c)
ifneq ($(DEMO_SRC),)
demo: examples
	$(MAKE) --no-print-directory data
	$(SN_RUN_ENV) ./$(BUILDDIR)/examples/03_text_classification --quick \
	    --out out/03-quick
	@echo
	@echo "That was the quick version (160 tokens a review, 1000 test reviews)."
	@echo "The full example (all 25000 test reviews, 400 tokens) is:"
	@echo "    ./$(BUILDDIR)/examples/03_text_classification"
	@echo "(report and figures in out/03/; see docs/tutorials/03_text_classification.md)"
else
demo: $(BUILDDIR)/examples/00_demo
	$(SN_RUN_ENV) ./$<
endif

# ---------------------------------------------------------------- bench
# `make bench` itself compiles nothing (it is in NOBUILD_GOALS): bench/run.sh
# calls `$(MAKE) bench-build` (which builds the library and the benchmark with
# the same BLAS/ARCH options), then runs it beside the peers.  See bench/README.md.
BENCH_STEPS ?= 10
BENCH_PASSES ?= 2
BENCH_MODELS ?= core,i,ii,iii,iv,v,lat1
BENCH_BIN := build/bench/bench_rnn

$(BENCH_BIN): bench/bench_rnn.c $(HEADER) $(SHLIB_DEV)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(CFLAGS) $(ARCH_FLAGS) $(SAN_FLAGS) -Iinclude $(WARNFLAGS) $(LDFLAGS) \
	    -o $@ $< -L$(LIBOUT) -lseqnet -Wl,-rpath,$(abspath $(LIBOUT)) $(SYS_LIBS)

# The recurrent products beside the BLAS's sgemm: internal kernels, so it
# links the static library.
BENCH_GEMM_BIN := build/bench/bench_gemm
$(BENCH_GEMM_BIN): bench/bench_gemm.c $(STLIB)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(CFLAGS) $(ARCH_FLAGS) $(SAN_FLAGS) -Iinclude -Isrc \
	    $(BLAS_CFLAGS) $(WARNFLAGS) $(LDFLAGS) -o $@ $< $(STLIB) $(BLAS_LIBS) \
	    $(SYS_LIBS)

bench-build: lib $(BENCH_BIN) $(BENCH_GEMM_BIN)

# (The recipe names $(MAKE), so make would run it even under -n; a dry run
# only prints the command.)
BENCH_CMD = bash bench/run.sh --steps $(BENCH_STEPS) --passes $(BENCH_PASSES) \
    --models $(BENCH_MODELS)
bench:
	$(if $(findstring n,$(firstword -$(MAKEFLAGS))),@echo "$(BENCH_CMD)",SN_MAKE='$(MAKE)' $(BENCH_CMD))

# ---------------------------------------------------------------- data
# Puts the IMDB reviews into data/aclImdb (shared copy or download, sha256
# checked; nothing to do when already there).  See docs/DATA.md.
.PHONY: data
data:
	bash scripts/get-data.sh

# ---------------------------------------------------------------- install
INSTALLED_LIBS := libseqnet.so.$(VERSION) $(SONAME) libseqnet.so libseqnet.a

ifeq ($(SANITIZE),1)
ifneq ($(filter install,$(MAKECMDGOALS)),)
$(error refusing to install a SANITIZE=1 build; run `make install` without it)
endif
endif

# Installing into the live system (no DESTDIR) refreshes the dynamic
# loader's cache, so that programs find libseqnet.so.X at once; with
# DESTDIR (staging, packaging) nothing is run.  LDCONFIG=: skips it.
LDCONFIG ?= $(firstword $(wildcard /sbin/ldconfig /usr/sbin/ldconfig) ldconfig)
SN_LDCONFIG = $(if $(DESTDIR),@:,$(LDCONFIG) $(if $(filter /lib /usr/lib,$(LIBDIR)),,$(LIBDIR)) || \
    echo "warning: $(LDCONFIG) failed; run it as root so that programs find $(SONAME)" >&2)

install: lib
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(EXAMPLEDIR)
	$(INSTALL) -m 644 $(HEADER) $(DESTDIR)$(INCLUDEDIR)/seqnet.h
	$(INSTALL) -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libseqnet.so.$(VERSION)
	ln -sf libseqnet.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libseqnet.so
	$(INSTALL) -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/libseqnet.a
	$(INSTALL) -m 644 $(PCFILE) $(DESTDIR)$(PKGCONFIGDIR)/seqnet.pc
	$(INSTALL) -d $(DESTDIR)$(CMAKEDIR)
	$(INSTALL) -m 644 $(CMAKE_FILES) $(DESTDIR)$(CMAKEDIR)/
	$(if $(DOC_FILES),$(INSTALL) -m 644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/)
	$(if $(EXAMPLE_DOC_FILES),$(INSTALL) -m 644 $(EXAMPLE_DOC_FILES) $(DESTDIR)$(EXAMPLEDIR)/)
	$(if $(wildcard $(MPI_SHLIB)),$(MAKE) --no-print-directory install-mpi)
	$(SN_LDCONFIG)

uninstall: uninstall-mpi
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/seqnet.h
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,$(INSTALLED_LIBS))
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/seqnet.pc
	rm -f $(addprefix $(DESTDIR)$(CMAKEDIR)/,$(notdir $(CMAKE_FILES)))
	-rmdir $(DESTDIR)$(CMAKEDIR) $(dir $(DESTDIR)$(CMAKEDIR)) 2>/dev/null || true
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	rm -f $(addprefix $(DESTDIR)$(EXAMPLEDIR)/,$(notdir $(EXAMPLE_DOC_FILES)))
	-rmdir $(DESTDIR)$(EXAMPLEDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	$(SN_LDCONFIG)


# ---------------------------------------------------------------- MPI
# libseqnet-mpi: the collective hooks of libseqnet (sn_collectives) over MPI,
# a separate library so that libseqnet itself never needs MPI
# (docs/DISTRIBUTED.md).  Open MPI is found with pkg-config (ompi-c).
MPI_SONAME := libseqnet-mpi.so.$(VERSION_MAJOR)
MPI_SHLIB := $(LIBOUT)/libseqnet-mpi.so.$(VERSION)
MPI_SHLIB_MAJOR := $(LIBOUT)/$(MPI_SONAME)
MPI_SHLIB_DEV := $(LIBOUT)/libseqnet-mpi.so
MPI_PCFILE := lib/seqnet-mpi.pc
MPI_CFLAGS = $(shell $(PKG_CONFIG) --cflags ompi-c)
MPI_LIBS = $(shell $(PKG_CONFIG) --libs ompi-c)
MPIRUN ?= mpirun
# mpirun refuses root without this flag; oversubscribe: more ranks than cores
MPIRUN_FLAGS ?= --oversubscribe $(if $(filter 0,$(shell id -u)),--allow-run-as-root)
MPI_TEST_BIN := $(BUILDDIR)/test/mpi/check_mpi

.PHONY: mpi mpi-deps check-mpi install-mpi uninstall-mpi
mpi-deps:
	@sh scripts/install-deps.sh --quiet --for=mpi

mpi: mpi-deps
	@$(MAKE) --no-print-directory lib
	@$(MAKE) --no-print-directory $(MPI_SHLIB_DEV) $(MPI_PCFILE)

$(BUILDDIR)/mpi/seqnet_mpi.o: src/mpi/seqnet_mpi.c include/seqnet_mpi.h $(HEADER)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -fPIC -fvisibility=hidden -DSN_BUILDING_LIBRARY \
	    $(MPI_CFLAGS) -c $< -o $@

$(MPI_SHLIB): $(BUILDDIR)/mpi/seqnet_mpi.o $(SHLIB_DEV)
	$(CC) -shared -Wl,-soname,$(MPI_SONAME) $(SAN_FLAGS) $(LDFLAGS) -o $@ $< \
	    -L$(LIBOUT) -lseqnet $(MPI_LIBS)

$(MPI_SHLIB_MAJOR): $(MPI_SHLIB)
	ln -sf $(notdir $<) $@

$(MPI_SHLIB_DEV): $(MPI_SHLIB_MAJOR)
	ln -sf $(notdir $<) $@

$(MPI_PCFILE): pkgconfig/seqnet-mpi.pc.in $(PC_STAMP) $(HEADER)
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(MPI_TEST_BIN): test/mpi/check_mpi.c $(MPI_SHLIB_DEV)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(MPI_CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $< \
	    -L$(LIBOUT) -lseqnet-mpi -lseqnet -Wl,-rpath,$(abspath $(LIBOUT)) \
	    $(MPI_LIBS) -lm

MPI_BENCH_BIN := $(BUILDDIR)/test/mpi/bench_mpi
.PHONY: bench-mpi
bench-mpi: mpi
	@$(MAKE) --no-print-directory $(MPI_BENCH_BIN)

$(MPI_BENCH_BIN): test/mpi/bench_mpi.c $(MPI_SHLIB_DEV)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(MPI_CFLAGS) $(LDFLAGS) -o $@ $< \
	    -L$(LIBOUT) -lseqnet-mpi -lseqnet -Wl,-rpath,$(abspath $(LIBOUT)) \
	    $(MPI_LIBS) -lm

# Each run prints its own "N passed, N failed" on rank 0; the last line
# adds them up.  OMP/OpenBLAS threads: one per rank (2 cores in CI).
check-mpi: mpi
	@$(MAKE) --no-print-directory $(MPI_TEST_BIN)
	@pass=0; fail=0; for np in 2 3; do \
	    echo "== $(MPIRUN) -np $$np $(MPI_TEST_BIN)"; \
	    out=$$(OPENBLAS_NUM_THREADS=1 timeout 300 $(MPIRUN) $(MPIRUN_FLAGS) \
	        -np $$np $(MPI_TEST_BIN) 2>&1); rc=$$?; echo "$$out"; \
	    line=$$(printf '%s\n' "$$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$$' | tail -1); \
	    if [ -z "$$line" ] || [ $$rc -ne 0 ]; then fail=$$((fail + 1)); \
	        echo "check-mpi: -np $$np exited with $$rc"; fi; \
	    p=$$(echo "$$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p'); \
	    f=$$(echo "$$line" | sed -n 's/.*passed, \([0-9]*\) failed/\1/p'); \
	    pass=$$((pass + $${p:-0})); fail=$$((fail + $${f:-0})); \
	done; echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

install-mpi: mpi
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 644 include/seqnet_mpi.h $(DESTDIR)$(INCLUDEDIR)/seqnet_mpi.h
	$(INSTALL) -m 755 $(MPI_SHLIB) $(DESTDIR)$(LIBDIR)/libseqnet-mpi.so.$(VERSION)
	ln -sf libseqnet-mpi.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(MPI_SONAME)
	ln -sf $(MPI_SONAME) $(DESTDIR)$(LIBDIR)/libseqnet-mpi.so
	$(INSTALL) -m 644 $(MPI_PCFILE) $(DESTDIR)$(PKGCONFIGDIR)/seqnet-mpi.pc
	$(SN_LDCONFIG)

uninstall-mpi:
	rm -f $(DESTDIR)$(INCLUDEDIR)/seqnet_mpi.h $(DESTDIR)$(PKGCONFIGDIR)/seqnet-mpi.pc
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libseqnet-mpi.so.$(VERSION) $(MPI_SONAME) libseqnet-mpi.so)

# ---------------------------------------------------------------- API reference
# `make doc`: Doxygen HTML (build/doc/html/index.html) and section-3 man pages
# (build/doc/man/man3: seqnet.h.3 and one page per function, type and
# macro) from include/seqnet.h's comments (docs/doxygen/).  Fails when
# Doxygen warns, e.g. about an undocumented public declaration.
# `make install-man` installs the man pages into $(MANDIR)/man3.
DOC_OUT := build/doc
MANDIR ?= $(PREFIX)/share/man

doc:
	@sh scripts/install-deps.sh --quiet --for=doc
	rm -rf $(DOC_OUT)
	@mkdir -p $(DOC_OUT)
	SN_DOC_VERSION=$(VERSION) SN_DOC_OUT=$(DOC_OUT) doxygen docs/doxygen/Doxyfile
	sh docs/doxygen/postprocess.sh $(DOC_OUT)
	@if [ -s $(DOC_OUT)/warnings.log ]; then cat $(DOC_OUT)/warnings.log >&2; \
	    echo "make doc: Doxygen warnings above (undocumented or badly documented declarations)" >&2; exit 1; fi
	@echo "API reference: $(DOC_OUT)/html/index.html, man pages in $(DOC_OUT)/man/man3 ($$(ls $(DOC_OUT)/man/man3 | wc -l) pages)"

install-man: doc
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man3
	cp -P $(DOC_OUT)/man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	chmod 644 $(DESTDIR)$(MANDIR)/man3/*.3

uninstall-man:
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard $(DOC_OUT)/man/man3/*.3)))

.PHONY: doc install-man uninstall-man

# ---------------------------------------------------------------- ABI baseline
# abi/libseqnet.abi is the public ABI of the current release (abidw, from
# the default build: make it with the default CFLAGS and BLAS).
# test/abi_diff.sh (run by `make check` when abidiff is installed, and by
# `make abi-check`, which requires it) compares the built library with it;
# see docs/ABI.md for when to regenerate it.
ABI_BASELINE := abi/libseqnet.abi
ABIDW_FLAGS := --headers-dir include --drop-private-types --no-corpus-path \
    --no-comp-dir-path

abi-baseline: lib
	abidw $(ABIDW_FLAGS) --out-file $(ABI_BASELINE) $(SHLIB)
	@echo "wrote $(ABI_BASELINE) from $(SHLIB); commit it with the CHANGELOG entry"

abi-check: lib
	SN_LIBDIR='$(LIBOUT)' SN_SANITIZE='$(SANITIZE)' SN_TEST_STRICT=1 bash test/abi_check.sh
	SN_LIBDIR='$(LIBOUT)' SN_SANITIZE='$(SANITIZE)' SN_TEST_STRICT=1 bash test/abi_diff.sh

.PHONY: abi-baseline abi-check

# ---------------------------------------------------------------- clean
clean:
	rm -rf build lib

-include $(LIB_OBJS:.o=.d) $(TEST_SRCS:%.c=$(BUILDDIR)/%.d) $(EXAMPLE_BINS:=.d) \
    $(EXAMPLE_COMMON_OBJS:.o=.d) $(TEST_SUPPORT_OBJS:.o=.d)
