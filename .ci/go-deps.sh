#!/usr/bin/env bash
# Installs what test/go/c2sp-verify.test.ts needs on a fresh Debian machine: the Go toolchain
# (golang-go, 1.19 on Debian 12) and Debian's golang.org/x/mod sources (golang-golang-x-mod-dev,
# installed under /usr/share/gocode). The test builds its verifier offline in GOPATH mode against
# them. Idempotent: a quick no-op when both packages are already installed.
set -euo pipefail

PACKAGES=(golang-go golang-golang-x-mod-dev)
XMOD=/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog/tlog.go

installed() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
  done
  command -v go >/dev/null 2>&1 && [ -f "$XMOD" ]
}

if installed; then
  echo "== go-deps: $(go version) and golang.org/x/mod already installed"
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
echo "== go-deps: installing ${PACKAGES[*]}"
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${PACKAGES[@]}"

if ! installed; then
  echo "go-deps: ${PACKAGES[*]} installed, but go or $XMOD is still missing" >&2
  exit 1
fi
echo "== go-deps: $(go version) and golang.org/x/mod installed"
