#!/usr/bin/env bash
# Builds the Kubernetes node and control-plane binaries from Debian's `kubernetes` source package
# (1.20.2, vendored; Debian ships only kubectl as a binary) and caches them outside the repo by
# version: a second run with a warm cache takes well under a second.
#
#   image-build/kubernetes-binaries.sh          # prints the directory holding the binaries
#
# Environment: SPROUT_CACHE (default /var/cache/sprout).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../scripts/lib/host-packages.sh
. "$here/../scripts/lib/host-packages.sh"
cache="${SPROUT_CACHE:-/var/cache/sprout}"
binaries=(kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
say() { echo "kubernetes-binaries: $*" >&2; }

ensure_deb_src() {
  local src=/etc/apt/sources.list.d/sprout-deb-src.sources
  if ! apt-cache showsrc kubernetes >/dev/null 2>&1 || [ -z "$(apt-cache showsrc kubernetes 2>/dev/null)" ]; then
    if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      say "adding a deb-src entry for bookworm ($src)"
      printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$src"
    fi
    say "apt-get update"
    apt-get update -qq
  fi
}

ensure_deb_src
version="$(apt-cache showsrc kubernetes | awk '/^Version:/ {print $2; exit}')"
[ -n "$version" ] || { say "Debian's kubernetes source package was not found"; exit 1; }
out="$cache/kubernetes/$version/bin"

cached() {
  for b in "${binaries[@]}"; do [ -x "$out/$b" ] || return 1; done
  say "cached: $out"
  echo "$out"
}
cached && exit 0

# One build at a time: a second one (another test run, a second `sprout up`) would delete the
# source tree under the first. It waits, then finds the first one's binaries.
mkdir -p "$cache/kubernetes"
exec 9>"$cache/kubernetes/.lock"
flock -n 9 || { say "waiting for another Kubernetes build to finish" && flock 9; }
cached && exit 0

say "building Kubernetes $version from source (about 10 minutes on 2 cores; cached afterwards)"
host_packages_ensure golang-go dpkg-dev rsync jq
work="$cache/kubernetes/$version/src"
rm -rf "$work" && mkdir -p "$work"
(cd "$work" && apt-get source -qq kubernetes >/dev/null)
tree="$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'kubernetes-*' -print -quit)"
[ -d "$tree" ] || { say "apt-get source produced no source tree in $work"; exit 1; }

targets=()
for b in "${binaries[@]}"; do targets+=("cmd/$b"); done
# Static binaries: the node image has no Go runtime dependencies to satisfy.
(cd "$tree" && CGO_ENABLED=0 GOFLAGS=-mod=vendor GOCACHE="$cache/go-build" make WHAT="${targets[*]}" >&2)

mkdir -p "$out.tmp"
for b in "${binaries[@]}"; do
  found="$(find "$tree/_output" -type f -name "$b" -perm -u+x -print -quit)"
  [ -n "$found" ] || { say "build finished but $b is missing"; exit 1; }
  cp "$found" "$out.tmp/$b"
done
rm -rf "$out" && mv "$out.tmp" "$out"
rm -rf "$work"
say "built: $out"
echo "$out"
