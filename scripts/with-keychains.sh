#!/usr/bin/env bash
# Runs a command with real OS keychains available, for statevault-codec's keychain tests:
#   scripts/with-keychains.sh cargo test -p statevault-codec
#
# - the freedesktop Secret Service: gnome-keyring-daemon, unlocked with a throwaway password, on a
#   private D-Bus session bus (dbus-run-session);
# - the kernel keyutils: a fresh session keyring (keyctl session -).
# It exports STATEVAULT_TEST_SECRET_SERVICE=1 and STATEVAULT_TEST_KEYUTILS=1, so the tests that are
# otherwise skipped run and must pass.
#
# Missing packages are installed when run as root (Debian/Ubuntu); otherwise the script says what to
# install and exits 1.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

# The inner stage, run by the outer one inside dbus-run-session and keyctl session.
if [[ "${1:-}" == "--inner" ]]; then
    shift
    # A throwaway password on stdin creates and unlocks the login keyring; --components=secrets starts
    # only the Secret Service (no SSH or GPG agent). The daemon prints its environment, which is exported.
    eval "$(printf 'statevault-test\n' | gnome-keyring-daemon --unlock --components=secrets)"
    export GNOME_KEYRING_CONTROL
    # Wait until the daemon owns the Secret Service name on the bus.
    for _ in $(seq 50); do
        if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
            grep -q 'boolean true'; then
            break
        fi
        sleep 0.1
    done
    export STATEVAULT_TEST_SECRET_SERVICE=1 STATEVAULT_TEST_KEYUTILS=1
    status=0
    "$@" || status=$?
    kill "${GNOME_KEYRING_PID:-}" 2>/dev/null || true
    exit "$status"
fi

packages=(gnome-keyring dbus dbus-x11 libsecret-tools keyutils)
commands=(gnome-keyring-daemon dbus-run-session dbus-launch secret-tool keyctl)
missing=()
for i in "${!commands[@]}"; do
    command -v "${commands[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "with-keychains: installing ${missing[*]}" >&2
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" >&2
    else
        echo "with-keychains: missing ${missing[*]}; install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
        exit 1
    fi
fi

script="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
# keyctl session - : a new anonymous session keyring, so tests never touch the user's own keys.
exec keyctl session - dbus-run-session -- bash "$script" --inner "$@"
