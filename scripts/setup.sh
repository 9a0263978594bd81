#!/usr/bin/env bash
# Installs what the project needs, idempotently, and takes no time when all is there:
# Debian packages (as root, with apt-get) and npm packages from the lockfile (npm ci).
# Without root and with packages missing, it names them and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian package -> a command it provides (checked first: cheaper than dpkg).
declare -A PKGS=(
  [qemu-system-x86]=qemu-system-x86_64
  [qemu-utils]=qemu-img
  [nasm]=nasm
  [xorriso]=xorriso
  [genisoimage]=isoinfo
  [iproute2]=ip
  [tcpdump]=tcpdump
  [iputils-ping]=ping
  [python3]=python3
  [git]=git
  [util-linux]=setpriv
  [gdb]=gdb
  [binutils]=ld
  [nftables]=nft
  [tshark]=tshark
)

missing=()
for pkg in "${!PKGS[@]}"; do
  command -v "${PKGS[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "gittorrent setup: missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # tshark's package asks whether non-root users may capture: answer no, without asking
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm packages: reinstall from the lockfile only when it changed since the last install.
stamp=node_modules/.gittorrent-lock-sha1
want=$(sha1sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm packages from the lockfile" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi

# The CLI compiled to dist/ (bin/cli-bundle.js): rebuilt only when a source changed.
node bin/cli-bundle.js
