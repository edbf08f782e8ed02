# make build    ./touchpoint for this machine
# make test     every test (go test ./...)
# make release  static binaries in dist/: dist/touchpoint-<os>-<arch>
#
# The binaries are pure Go (modernc.org/sqlite, no cgo): CGO_ENABLED=0 makes
# them static, so they run on any Linux of their architecture, containers
# from scratch included. VERSION is what "touchpoint version" prints.

VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64
GO        ?= go
LDFLAGS   := -s -w -X main.version=$(VERSION)

.PHONY: build test release clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -ldflags "$(LDFLAGS)" -o touchpoint ./cmd/touchpoint

test:
	$(GO) test ./...

release:
	@mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "dist/touchpoint-$$os-$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=auto -ldflags "$(LDFLAGS)" \
			-o dist/touchpoint-$$os-$$arch ./cmd/touchpoint; \
	done

clean:
	rm -rf dist touchpoint
