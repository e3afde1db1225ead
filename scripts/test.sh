#!/usr/bin/env bash
# Runs every test of statevault, as CI does: formatting, layer rules, clippy, every Rust test
# (with a real Secret Service and kernel keyring, real tmpfs disk-full tests as root, real killed
# processes), the docs, the freshness of generated files, and the real TypeScript compiler over the
# generated declarations, and the Node binding (built, then tested on the real addon).
#
# It installs what the tests need where it can (as root: Debian packages with apt-get; npm packages
# from the lock file) and otherwise says exactly what to install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n==> %s\n' "$*"; }
need() {
    # need COMMAND DEBIAN-PACKAGE: install the package as root, else explain and stop.
    command -v "$1" >/dev/null 2>&1 && return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing $2 (for $1)"
        if [[ -z "${apt_updated:-}" ]]; then apt-get update -qq; apt_updated=1; fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2"
    else
        echo "missing '$1': install the Debian package '$2' (sudo apt-get install -y $2) and run again" >&2
        exit 1
    fi
}

command -v cargo >/dev/null 2>&1 || {
    echo "missing cargo: install Rust 1.89 or newer from https://rustup.rs and run again" >&2
    exit 1
}
need node nodejs
need npm npm

if [[ $(id -u) -eq 0 ]]; then
    # Root can mount the small tmpfs of the disk-full tests: they must run, not skip.
    export STATEVAULT_REQUIRE_REAL=1
else
    echo "NOTE: not root: the disk-full tests (which mount a tmpfs) will say SKIPPED" >&2
fi

say "TypeScript: tsc --strict over the generated declarations and fixtures"
(
    cd bindings/typescript
    npm ci --no-audit --no-fund --loglevel=error
    npm test
)

say "Node: the statevault npm package (the Node-API addon, built in release), its tests on the real addon with real keychains"
(
    cd bindings/node
    npm ci --no-audit --no-fund --loglevel=error
    npm run build
    ../../scripts/with-keychains.sh npm test
)

say "Rust: cargo xtask ci, with real keychains (gnome-keyring on a private D-Bus, keyctl session)"
scripts/with-keychains.sh cargo xtask ci

say "all tests passed"
