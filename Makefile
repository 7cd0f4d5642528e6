# sigil: a Matrix Identity Service as FastCGI programs.
#
#   make            build the programs into $(BUILD)/
#   make run        the whole stack on http://127.0.0.1:8090, in the foreground
#   make check      build, start a throw-away stack, run every test
#   make check-apache  the HTTP tests with Apache in front instead of nginx
#   make check-cgi     the HTTP tests on a shared host: Apache, mod_cgi
#   make check-fcgid   the same with mod_fcgid
#   make check-lighttpd  the same with lighttpd's mod_cgi (SCRIPT_NAME + PATH_INFO)
#   make test       the build, unit and HTTP tests only (no lint, no fuzz)
#   make test-unit  the unit tests (t/unit/*.c) only
#   make sanitize   the tests again with ASan and UBSan
#   make valgrind   the tests again with every worker under valgrind
#   make fuzz       libFuzzer on request parsing, canonical JSON, addresses
#   make lint       cppcheck, clang-tidy and shellcheck
#   make bench      wrk against the programs and a minimal baseline
#   make install    the programs, scripts, migrations, units, web server
#                   snippets and man pages (PREFIX, DESTDIR, ...: below)
#   make man        man/sigil.conf.5 again from deploy/sigil.conf.example
#   make deb        the Debian package, $(BUILD)/sigil_<version>_amd64.deb
#
# CI passes WERROR=-Werror.  Local overrides go in config.mk.
#
# Packages: every step first runs $(INSTALL_DEPS) (deploy/install-deps)
# with one argument.  "make" and the build targets ask for the build set
# only (build: compilers, pkg-config, the -dev packages); run, check,
# test, check-*, sanitize, valgrind, fuzz, lint and bench ask for all
# (the web servers, PostgreSQL, the test and lint tools).  Nothing
# missing: it says nothing, as any user.  Something missing: as root it
# installs it (apt-get), as anyone else it names the packages and stops.
# INSTALL_DEPS=true skips the step (packages from elsewhere); any other
# command is run as "COMMAND build" or "COMMAND all".

BUILD	?= build
CC	?= cc
CXX	?= c++
CLANG	?= clang
WERROR	?=
SANITIZE ?=
FUZZ_SECONDS ?= 5

# The libraries' flags come from pkg-config when a recipe first needs
# them, never when this file is read: on a fresh machine neither
# pkg-config nor the -dev packages exist until the "deps" step, which
# every build step waits for (order-only), has installed them.  Each is
# asked once per make run.
PKGS	 = fcgi libcjson libcrypto libpq libcurl libidn2
INSTALL_DEPS ?= sh deploy/install-deps
pkg_flags = $(or $(shell pkg-config $(1) $(PKGS) 2>/dev/null),$(error pkg-config $(1) $(PKGS) failed: are the packages installed? run make deps))
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg_flags,--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(call pkg_flags,--libs))$(PKG_LIBS)

WARNINGS = -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wcast-align \
	   -Wnull-dereference -Wvla -Wswitch-enum -Wimplicit-fallthrough \
	   -Wmissing-prototypes -Wstrict-prototypes -Wwrite-strings \
	   -Wundef -Wconversion -Wno-sign-conversion
HARDEN	 = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS	?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	     $(WARNINGS) $(WERROR) $(HARDEN) $(SANITIZE) $(CFLAGS) \
	     -Icommon $(PKG_CFLAGS)
ALL_CXXFLAGS = -std=c++17 $(WERROR) -Wall -Wextra $(HARDEN) $(SANITIZE) \
	     $(CFLAGS) -Icommon
# RPATH $ORIGIN/lib (DT_RPATH, which also serves the libraries' own
# dependencies): a shared host's copy of the libraries beside the
# programs (deploy/sigil-shared-bundle) is found first; elsewhere the
# folder does not exist and the system's are used.
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,--as-needed \
	     -Wl,--disable-new-dtags,-rpath,'$$ORIGIN/lib' $(SANITIZE) $(LDFLAGS)
LIBS	 = $(PKG_LIBS) -lunistring -lphonenumber -lstdc++ -lresolv -lm

# OpenLDAP's client library, linked only into what reads a directory
# (LDAP_USERS): its one user, common/ldapsrc.o, is kept out of
# libsigil.a, and those programs link it and LDAP_LIBS (EXTRA_OBJS and
# EXTRA_LIBS, which the link rules put around libsigil.a).
LDAP_LIBS = $(eval LDAP_LIBS := $(or $(shell pkg-config --libs ldap 2>/dev/null),$(error pkg-config --libs ldap failed: is libldap-dev installed? run make deps)))$(LDAP_LIBS)

-include config.mk

COMMON	 = app b64 buf canon cfg clientnet db dbaccount dbbind dbinvite dbsession dbstmt email fcgi http ident invmail invpolicy j2 json log mail metrics mxerr netrange outbound part part_db part_http part_key part_mail pool publish ratelimit req resp secret session shmfile sign sms sqlsrc stop syncsrc terms threepid tmpl util xmatrix xmkeys
# The programs that serve routes: the rows of deploy/programs (one C file
# each, cgi/NAME.c).
PROGRAMS = $(shell sh deploy/gen-routes -l)
DAEMONS	 = notify supervise sync
TOOLS	 = canon-email
UNITS	 = $(sort $(patsubst t/unit/%.c,%,$(wildcard t/unit/*.c)))

COMMON_OBJS = $(COMMON:%=$(BUILD)/common/%.o) $(BUILD)/common/phone.o
PROG_BINS   = $(PROGRAMS:%=$(BUILD)/sigil-%) $(DAEMONS:%=$(BUILD)/sigil-%) \
	      $(TOOLS:%=$(BUILD)/sigil-%)
UNIT_BINS   = $(UNITS:%=$(BUILD)/t/%.t)
# The helpers the HTTP tests run (t/*.c), beside the programs.
TEST_TOOLS  = $(BUILD)/t/sign-json $(BUILD)/t/ldap-dump
LDAP_USERS  = $(BUILD)/sigil-sync $(BUILD)/t/ldap-dump $(BUILD)/t/ldapsrc.t
HEADERS	    = $(wildcard common/*.h) t/tap.h

.PHONY: all routes man install deb deps-deb check check-apache check-cgi check-fcgid check-lighttpd test test-unit test-http sanitize valgrind fuzz lint \
	bench run deps deps-all clean

all: $(PROG_BINS)

$(BUILD)/common/%.o: common/%.c $(HEADERS) | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/common/phone.o: common/phone.cc common/phone.h | deps
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) -c -o $@ common/phone.cc

$(BUILD)/cgi/%.o: cgi/%.c $(HEADERS) | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libsigil.a: $(COMMON_OBJS)
	rm -f $@
	ar rcs $@ $(COMMON_OBJS)

$(LDAP_USERS): $(BUILD)/common/ldapsrc.o
$(LDAP_USERS): EXTRA_OBJS = $(BUILD)/common/ldapsrc.o
$(LDAP_USERS): EXTRA_LIBS = $(LDAP_LIBS)

$(BUILD)/sigil-%: $(BUILD)/cgi/%.o $(BUILD)/libsigil.a
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(EXTRA_OBJS) $(BUILD)/libsigil.a \
	    $(EXTRA_LIBS) $(LIBS)

$(BUILD)/t/%.o: t/unit/%.c $(HEADERS) | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -It -c -o $@ $<

$(BUILD)/t/tap.o: t/tap.c t/tap.h | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -It -c -o $@ $<

$(BUILD)/t/%.t: $(BUILD)/t/%.o $(BUILD)/t/tap.o $(BUILD)/libsigil.a
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/t/tap.o $(EXTRA_OBJS) \
	    $(BUILD)/libsigil.a $(EXTRA_LIBS) $(LIBS)

$(TEST_TOOLS): $(BUILD)/t/%: t/%.c $(BUILD)/libsigil.a $(HEADERS) | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(EXTRA_OBJS) \
	    $(BUILD)/libsigil.a $(EXTRA_LIBS) $(LIBS)

# The build set, which every compile step waits for (order-only), and
# everything, which the steps that run the stack or a tool wait for.
deps:
	@$(INSTALL_DEPS) build
deps-all: deps
	@$(INSTALL_DEPS) all
deps-deb: deps
	@$(INSTALL_DEPS) deb

# The web fronts' routing, the limits' paths, the workers file and the
# systemd target, from the table of programs (deploy/programs); the
# generated parts are kept in git, and t/make/routes.t fails when they
# are not up to date.
routes:
	sh deploy/gen-routes

# The build checks, the unit tests, then the HTTP tests through a real
# stack.
test: deps-all all $(UNIT_BINS) $(TEST_TOOLS)
	SIGIL_BUILD=$(BUILD) prove -f t/make/
	prove -f -e '' $(UNIT_BINS)
	SIGIL_BUILD=$(BUILD) t/lib/with-stack prove -f t/http/

# The unit tests (every t/unit/*.c) alone.
test-unit: deps-all $(UNIT_BINS)
	prove -f -e '' $(UNIT_BINS)

# The HTTP tests again with Apache (mod_proxy_fcgi) in front of the
# programs instead of nginx.
check-apache: deps-all all $(TEST_TOOLS)
	SIGIL_BUILD=$(BUILD) SIGIL_FRONT=apache t/lib/with-stack prove -f t/http/

# The HTTP tests on a shared host: Apache runs the programs itself from
# a document root set up as deploy/shared-hosting says, as plain CGI
# (mod_cgi) or FastCGI (mod_fcgid), as www-data, with no daemon (onbind
# delivery from sigil-notify --once, as cron runs it there).
check-cgi: deps-all all $(TEST_TOOLS)
	SIGIL_BUILD=$(BUILD) SIGIL_FRONT=apache-cgi t/lib/with-stack prove -f t/http/
check-fcgid: deps-all all $(TEST_TOOLS)
	SIGIL_BUILD=$(BUILD) SIGIL_FRONT=apache-fcgid t/lib/with-stack prove -f t/http/
# The same through another CGI server, lighttpd's mod_cgi set up with
# deploy/lighttpd-sigil.conf: the path reaches the programs as RFC 3875
# has it, SCRIPT_NAME + PATH_INFO, not through a rewrite.
check-lighttpd: deps-all all $(TEST_TOOLS)
	SIGIL_BUILD=$(BUILD) SIGIL_FRONT=lighttpd-cgi t/lib/with-stack prove -f t/http/

# Everything, as CI runs it: lint, the tests (through nginx, then Apache),
# again under ASan/UBSan and under valgrind, then the fuzzers for
# FUZZ_SECONDS each.
check: deps-all
	$(MAKE) lint
	$(MAKE) test
	$(MAKE) check-apache
	$(MAKE) check-cgi
	$(MAKE) check-fcgid
	$(MAKE) check-lighttpd
	$(MAKE) sanitize
	$(MAKE) valgrind
	$(MAKE) fuzz

sanitize: deps-all
	ASAN_OPTIONS=detect_leaks=1 $(MAKE) BUILD=build-asan \
	    SANITIZE='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer' \
	    CFLAGS='-O1 -g' test

VALGRIND = valgrind -q --leak-check=full --errors-for-leak-kinds=all \
	   --show-leak-kinds=all --error-exitcode=99
valgrind: deps-all all $(UNIT_BINS) $(TEST_TOOLS)
	SIGIL_VALGRIND=1 prove -f -e '$(VALGRIND)' $(UNIT_BINS)
	SIGIL_BUILD=$(BUILD) SIGIL_VALGRIND=1 t/lib/with-stack prove -f t/http/

FUZZ_SRC = $(COMMON:%=common/%.c)
$(BUILD)/fuzz/%: t/fuzz/%.c $(FUZZ_SRC) $(HEADERS) $(BUILD)/common/phone.o | deps-all
	@mkdir -p $(@D)
	$(CLANG) -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
	    -fsanitize=fuzzer,address,undefined -Icommon $(PKG_CFLAGS) \
	    -o $@ $< $(filter-out common/fcgi.c,$(FUZZ_SRC)) \
	    $(BUILD)/common/phone.o $(LIBS)

# Every t/fuzz/fuzz_*.c is a fuzzer (a .dict beside it is its dictionary).
FUZZERS = $(sort $(patsubst t/fuzz/%.c,%,$(wildcard t/fuzz/fuzz_*.c)))
fuzz: $(FUZZERS:%=$(BUILD)/fuzz/%) | deps-all
	@for f in $(FUZZERS); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$f; \
	    echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
	    dict=; [ -f t/fuzz/$$f.dict ] && dict=-dict=t/fuzz/$$f.dict; \
	    $(BUILD)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	        -print_final_stats=0 $$dict \
	        $(BUILD)/fuzz/corpus-$$f t/fuzz/corpus/$$f \
	        2>$(BUILD)/fuzz/$$f.log || { tail -40 $(BUILD)/fuzz/$$f.log; exit 1; }; \
	    grep -E '^(#[0-9]+ *DONE|Done)' $(BUILD)/fuzz/$$f.log | tail -1; \
	done

# The shell scripts, which shellcheck reads (deploy/sigil-key-common is
# sourced by the key scripts, so it is checked through them too).
SCRIPTS = .ci/run t/bench/run t/bench/under-attack t/lib/with-stack \
	  t/lib/make-test-ca \
	  deploy/install-deps deploy/sigil-cleanup deploy/sigil-import-sydent \
	  deploy/sigil-keygen deploy/sigil-migrate deploy/sigil-revoke-key \
	  deploy/sigil-rotate-key deploy/sigil-rotate-pepper deploy/sigil-stack \
	  deploy/sigil-key-common deploy/sigil-shared-bundle deploy/gen-routes \
	  man/gen-conf-page debian/sigil.postinst debian/sigil.prerm \
	  debian/sigil.postrm

lint: deps-all
	shellcheck -S warning -x $(SCRIPTS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --std=c11 --inline-suppr -Icommon common cgi
	clang-tidy --quiet common/*.c cgi/*.c -- -std=c11 \
	    -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Icommon $(PKG_CFLAGS)

$(BUILD)/bench-baseline: t/bench/baseline.c | deps
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ t/bench/baseline.c $(LIBS)

$(BUILD)/bench-baseline-db: t/bench/baseline_db.c | deps
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ t/bench/baseline_db.c $(LIBS)

$(BUILD)/bench-smtp-sink: t/bench/smtp_sink.c | deps
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ t/bench/smtp_sink.c

$(BUILD)/bench-attack: t/bench/attack.c | deps
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ t/bench/attack.c

$(BUILD)/bench-gen-bindings: t/bench/gen_bindings.c $(BUILD)/libsigil.a \
    $(HEADERS) | deps
	$(CC) $(ALL_CFLAGS) -Icommon $(ALL_LDFLAGS) -o $@ t/bench/gen_bindings.c \
	    $(BUILD)/libsigil.a $(LIBS)

bench: deps-all all $(BUILD)/bench-baseline $(BUILD)/bench-baseline-db \
    $(BUILD)/bench-smtp-sink $(BUILD)/bench-attack $(BUILD)/bench-gen-bindings
	SIGIL_BUILD=$(BUILD) t/bench/run

# The dev stack keeps its data in .run/ (git-ignored) between runs.
RUN_DIR	?= $(CURDIR)/.run
RUN_PORT ?= 8090
RUN_MAIL_PORT ?= 8025
run: deps-all all
	SIGIL_BUILD=$(BUILD) SIGIL_MAIL_PORT=$(RUN_MAIL_PORT) deploy/sigil-stack run $(RUN_DIR) $(RUN_PORT)

clean:
	rm -rf build build-asan

# Where "make install" puts things (DESTDIR is prepended to each; the
# files name the paths without it).  The programs and the operator
# scripts share one directory off PATH, as sigil-supervise starts the
# programs from its own directory and the key scripts call each other
# there.  The configuration directory is named in the units but nothing
# is written there: the example configuration and workers file go to
# DATADIR, to be copied by hand, so an install never overwrites a
# configuration.
PREFIX	  ?= /usr/local
LIBEXECDIR ?= $(PREFIX)/lib/sigil
SYSCONFDIR ?= /etc
CONFDIR	  ?= $(SYSCONFDIR)/sigil
DATADIR	  ?= $(PREFIX)/share/sigil
MANDIR	  ?= $(PREFIX)/share/man
UNITDIR	  ?= $(PREFIX)/lib/systemd/system
SOCKDIR	  ?= /run/sigil
MODSECDIR ?= /var/cache/modsecurity
INSTALL	  ?= install

# The operator scripts (sigil-key-common is sourced, not run).
OPS_SCRIPTS = sigil-migrate sigil-keygen sigil-rotate-key sigil-revoke-key \
	  sigil-cleanup sigil-rotate-pepper sigil-import-sydent \
	  sigil-terms-from-sydent
MAN_PAGES = man/sigil.8 man/sigil-supervise.8 man/sigil.conf.5
UNIT_INS  = $(wildcard deploy/systemd/*.in)
NGINX_INS = upstreams locations server site

# The man page of the configuration, from the file that documents every
# key; kept in git, and t/make/install.t fails when it is not up to date
# or lacks a key of the table (common/cfg.c).
man:
	sh man/gen-conf-page deploy/sigil.conf.example >man/sigil.conf.5

# Each .in file is rendered with the install's paths: the units with
# @BINDIR@ and @CONFDIR@, the web server snippets with the directory
# they are installed in and the sockets' (the site's own names, ports
# and certificates, @SERVER_NAME@ and the like, stay for the operator).
install: all
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR)/sql \
	    $(DESTDIR)$(DATADIR)/nginx $(DESTDIR)$(DATADIR)/apache/errors \
	    $(DESTDIR)$(DATADIR)/lighttpd $(DESTDIR)$(DATADIR)/logrotate \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(PROG_BINS) $(DESTDIR)$(LIBEXECDIR)/
	for f in $(OPS_SCRIPTS); do \
	    sed -e 's|^sql_default=.*|sql_default=$(DATADIR)/sql|' deploy/$$f \
	        >$(DESTDIR)$(LIBEXECDIR)/$$f && \
	    chmod 0755 $(DESTDIR)$(LIBEXECDIR)/$$f || exit 1; \
	done
	$(INSTALL) -m 0644 deploy/sigil-key-common $(DESTDIR)$(LIBEXECDIR)/
	$(INSTALL) -m 0644 sql/*.sql $(DESTDIR)$(DATADIR)/sql/
	cd templates && find . -type d -exec $(INSTALL) -d \
	    $(DESTDIR)$(DATADIR)/templates/{} \;
	cd templates && find . -type f -exec $(INSTALL) -m 0644 {} \
	    $(DESTDIR)$(DATADIR)/templates/{} \;
	sed -e 's|^template_dir = .*|template_dir = $(DATADIR)/templates|' \
	    deploy/sigil.conf.example >$(DESTDIR)$(DATADIR)/sigil.conf.example
	$(INSTALL) -m 0644 deploy/systemd/workers $(DESTDIR)$(DATADIR)/
	for f in $(UNIT_INS); do \
	    sed -e 's|@BINDIR@|$(LIBEXECDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' \
	        "$$f" >$(DESTDIR)$(UNITDIR)/$$(basename "$$f" .in) || exit 1; \
	done
	chmod 0644 $(DESTDIR)$(UNITDIR)/*
	for f in $(NGINX_INS); do \
	    sed -e 's|@CONFDIR@|$(DATADIR)/nginx|g' -e 's|@SOCKDIR@|$(SOCKDIR)|g' \
	        deploy/nginx-sigil-$$f.conf.in \
	        >$(DESTDIR)$(DATADIR)/nginx/nginx-sigil-$$f.conf || exit 1; \
	done
	$(INSTALL) -m 0644 deploy/sigil-location.conf \
	    deploy/sigil-error-headers.conf $(DESTDIR)$(DATADIR)/nginx/
	sed -e 's|@CONFDIR@|$(DATADIR)/apache|g' -e 's|@SOCKDIR@|$(SOCKDIR)|g' \
	    -e 's|@ERRDIR@|$(DATADIR)/apache/errors|g' deploy/apache-sigil.conf.in \
	    >$(DESTDIR)$(DATADIR)/apache/apache-sigil.conf
	sed -e 's|@DATADIR@|$(MODSECDIR)|g' deploy/apache-sigil-limits.conf.in \
	    >$(DESTDIR)$(DATADIR)/apache/apache-sigil-limits.conf
	$(INSTALL) -m 0644 deploy/apache-errors/* $(DESTDIR)$(DATADIR)/apache/errors/
	$(INSTALL) -m 0644 deploy/lighttpd-sigil.conf $(DESTDIR)$(DATADIR)/lighttpd/
	$(INSTALL) -m 0644 deploy/logrotate/sigil $(DESTDIR)$(DATADIR)/logrotate/
	chmod 0644 $(DESTDIR)$(DATADIR)/nginx/* $(DESTDIR)$(DATADIR)/apache/*.conf \
	    $(DESTDIR)$(DATADIR)/sigil.conf.example
	$(INSTALL) -m 0644 man/sigil.8 man/sigil-supervise.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 man/sigil.conf.5 $(DESTDIR)$(MANDIR)/man5/

# The Debian package: debian/rules (debhelper) builds with $(BUILD), so a
# built tree is not built again, installs with "make install" and writes
# $(DEBDIR)/sigil_<version>_amd64.deb.  The binary step under fakeroot,
# as dpkg-buildpackage would (harmless as root); nothing is written
# outside the tree's debian/ (git-ignored) and DEBDIR.
DEBDIR	?= $(BUILD)
deb: deps-deb
	debian/rules BUILD='$(abspath $(BUILD))' build
	fakeroot debian/rules BUILD='$(abspath $(BUILD))' \
	    DEBDIR='$(abspath $(DEBDIR))' binary
