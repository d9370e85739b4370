# Switchyard build. `make` builds the BPF objects and the TypeScript; `make test` first
# installs whatever is missing (`make deps`), so on a fresh machine it alone gets there.
SHELL       := /bin/bash
CLANG       ?= clang
MULTIARCH   := $(shell uname -m)-linux-gnu
BPF_CFLAGS  := -O2 -g -target bpf -Wall -Werror -I bpf -I /usr/include/$(MULTIARCH)
BPF_SRCS    := $(wildcard bpf/*.c)
BPF_OBJS    := $(patsubst bpf/%.c,build/bpf/%.o,$(BPF_SRCS))
TS_SRCS     := $(shell find src -name '*.ts' 2>/dev/null)
DEB_PKGS    := clang llvm libbpf-dev libbpf1 bpftool iproute2 iptables nftables curl procps dnsutils

.PHONY: all bpf ts deps test test-unit test-kernel check-bpf-headers lint format lab lab-down clean

all: bpf ts

bpf: $(BPF_OBJS)

build/bpf/%.o: bpf/%.c $(wildcard bpf/*.h)
	@mkdir -p build/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

ts: dist/.built

dist/.built: $(TS_SRCS) tsconfig.json node_modules/.package-lock.json
	npx tsc -p tsconfig.json
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Installs the Debian packages the build and the tests use, then the npm packages.
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to install: $$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(MAKE) --no-print-directory node_modules/.package-lock.json

# The BPF objects may include only kernel UAPI and libbpf headers, never libc's (see the script).
check-bpf-headers:
	node tools/check-bpf-headers.mjs "$(CLANG)" "$(BPF_CFLAGS)" $(BPF_SRCS)

# Format, lint and layers: Biome over the TypeScript (format and lint in one pass, read-only),
# the import rules of src/ and the file-size limit (tools/check-layers.mjs), and the kernel's
# layout rules over bpf/ (tools/check-bpf-style.mjs). `make format` rewrites what Biome would.
lint: node_modules/.package-lock.json
	npx biome ci --colors=off
	node tools/check-layers.mjs
	node tools/check-bpf-style.mjs

format: node_modules/.package-lock.json
	npx biome check --write

test: deps all check-bpf-headers lint
	npx tsc -p tsconfig.test.json
	npx vitest run --reporter=default --reporter=json --outputFile.json=build/test-report.json

test-unit: deps all
	npx vitest run --project unit

test-kernel: deps all
	npx vitest run --project kernel

lab: deps all
	bin/switchyard lab up
	bin/switchyard lab demo
	@echo
	@echo "Explore:"
	@echo "  bin/switchyard lab status                                   # nodes, pods, services, agents"
	@echo "  bin/switchyard inspect services --pin-dir /run/switchyard-lab/lab/bpf-node1"
	@echo "  bin/switchyard lab exec external -- curl -s http://10.250.0.12:30080/hostname.html"
	@echo "  bin/switchyard lab scale myapp-deploy --replicas 2 && bin/switchyard lab demo"
	@echo "Tear down: bin/switchyard lab down"

lab-down:
	bin/switchyard lab down

clean:
	rm -rf build dist
