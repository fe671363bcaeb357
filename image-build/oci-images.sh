#!/usr/bin/env bash
# Builds the OCI images a local cluster needs, offline, from Debian packages (no registry is
# reachable here):
#
#   pause.tar    registry.k8s.io/pause:3.2   the sandbox image containerd's CRI runs for every pod
#                                            (sandbox_image for Kubernetes 1.20, shared/versions.ts):
#                                            pause/pause.c, compiled with gcc -static -Os
#   toolbox.tar  sprout.dev/toolbox:1        Debian's busybox-static with every applet linked (sh,
#                                            httpd, wget, nc, ip, …) and /www/index.html; entrypoint
#                                            `sh`, default command serves /www over HTTP on port 80
#                                            (bookworm's busybox has no `wget -T`: it segfaults;
#                                            use `timeout 5 wget …`)
#
#   image-build/oci-images.sh     # prints the directory holding pause.tar and toolbox.tar
#
# Format: each archive is an OCI image layout in a tar (oci-layout, index.json, blobs/sha256/…),
# written by hand with tar, sha256sum and jq. The manifest's descriptor in index.json carries the
# full name in `io.containerd.image.name` (what `ctr images import` names the image by) and the
# tag in `org.opencontainers.image.ref.name` (the OCI convention), and the linux/<arch> platform.
# Layers are uncompressed tars, so a layer's digest is its diff_id. Every tar is written with
# sorted names, mtime 0 and numeric root ownership: the same inputs give byte-identical archives.
# Why by hand rather than umoci/skopeo/buildah: two single-layer images need ~60 lines of layout,
# no extra packages (gcc, jq and tar are all it takes), and the output is reproducible and named
# exactly as containerd's importer expects, with nothing in between to second-guess.
#
# The output is cached in $SPROUT_CACHE/images/<hash>/, the hash covering this script, pause/, the
# compiler and libc versions and the busybox-static package's SHA-256 (its .deb is kept in
# $SPROUT_CACHE/images/debs/). A warm run only hashes.
#
# Environment: SPROUT_CACHE (default /var/cache/sprout).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../scripts/lib/host-packages.sh
. "$here/../scripts/lib/host-packages.sh"
cache="${SPROUT_CACHE:-/var/cache/sprout}/images"
start=$(date +%s)
say() { echo "oci-images: [$(($(date +%s) - start))s] $*" >&2; }
die() { say "error: $*"; exit 1; }

PAUSE_REF=registry.k8s.io/pause:3.2
TOOLBOX_REF=sprout.dev/toolbox:1

[ "$(id -u)" = 0 ] || die "must run as root (apt-get)"
umask 022
export LC_ALL=C

host_packages_ensure gcc libc6-dev jq

arch="$(dpkg --print-architecture)"
case "$arch" in amd64 | arm64) ;; *) die "unsupported architecture $arch" ;; esac

# busybox-static: the candidate .deb of the machine's package lists ('URI' file size SHA256:hex).
# Asking apt takes most of a warm run (no binary cache here), so the answer is remembered for as
# long as the package lists are unchanged.
lists_key() { { apt-config dump 2>/dev/null | grep -E '^APT::(Default-Release|Architecture) '; find /var/lib/apt/lists /etc/apt/preferences* -maxdepth 1 -type f -printf '%p %s %T@\n' 2>/dev/null | sort; } | sha256sum | cut -c1-16; }
busybox_uri() {
  local key memo
  key="$(lists_key)"
  memo="$cache/busybox-static.uri"
  if [ -f "$memo" ] && [ "$(head -1 "$memo")" = "$key" ]; then
    sed -n 2p "$memo"
    return
  fi
  local uri
  uri="$(apt-get download --print-uris busybox-static 2>/dev/null | grep -m1 "^'" || true)"
  [ -n "$uri" ] && mkdir -p "$cache" && printf '%s\n%s\n' "$key" "$uri" >"$memo.tmp" && mv "$memo.tmp" "$memo"
  echo "$uri"
}
uri="$(busybox_uri)"
if [ -z "$uri" ]; then say "apt-get update (to find busybox-static)" && apt-get update -qq && uri="$(busybox_uri)"; fi
[ -n "$uri" ] || die "apt-get cannot find the busybox-static package"
busybox_sha="$(awk '{print $4}' <<<"$uri" | sed 's/^SHA256://')"
[[ "$busybox_sha" =~ ^[0-9a-f]{64}$ ]] || die "no SHA-256 for busybox-static in: $uri"

inputs_hash() {
  {
    echo "arch=$arch pause=$PAUSE_REF toolbox=$TOOLBOX_REF"
    sha256sum <"$here/oci-images.sh" # by content: the same cache for every checkout
    (cd "$here/pause" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    gcc --version | sed -n 1p
    dpkg-query -W -f '${Package}=${Version}\n' libc6-dev 2>/dev/null || true
    echo "busybox-static=$busybox_sha"
  } | sha256sum | cut -c1-16
}
hash="$(inputs_hash)"
out="$cache/$hash"
done_() { [ -e "$cache/$hash.complete" ] && [ -f "$out/pause.tar" ] && [ -f "$out/toolbox.tar" ]; }
if done_; then
  say "cached: $out"
  echo "$out"
  exit 0
fi

mkdir -p "$cache/debs"
exec 9>"$cache/.lock"
say "waiting for the build lock" && flock 9
if done_; then
  say "cached: $out"
  echo "$out"
  exit 0
fi

tmp="$cache/$hash.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"/work
trap 'rm -rf "$tmp"' EXIT

# --- helpers -------------------------------------------------------------------------------------

# Deterministic tar of DIR's contents (names relative to DIR, no "./" entry).
tar_dir() { # tar_dir DIR OUT
  (cd "$1" && find . -mindepth 1 -printf '%P\n' | sort) |
    tar --create --file="$2" --directory="$1" --no-recursion --files-from=- \
      --format=gnu --sort=none --mtime=@0 --owner=0 --group=0 --numeric-owner
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# Stores FILE as a blob of LAYOUT; prints its digest (sha256:<hex>).
put_blob() { # put_blob LAYOUT FILE
  local d
  d="$(sha "$2")"
  mkdir -p "$1/blobs/sha256"
  mv "$2" "$1/blobs/sha256/$d"
  echo "sha256:$d"
}

# oci_image OUT.tar REF ROOTFS_DIR CONFIG_JSON DESCRIPTION: one image, one layer.
# CONFIG_JSON is the image's runtime config (Entrypoint, Cmd, Env, …).
oci_image() {
  local archive=$1 ref=$2 rootfs=$3 config=$4 what=$5
  local layout
  layout="$tmp/work/layout-$(basename "$archive" .tar)"
  mkdir -p "$layout"
  tar_dir "$rootfs" "$layout/layer.tar"
  local layer_size layer
  layer_size="$(size "$layout/layer.tar")"
  layer="$(put_blob "$layout" "$layout/layer.tar")"
  jq -cn --arg arch "$arch" --arg layer "$layer" --arg what "$what" --argjson config "$config" '{
      created: "1970-01-01T00:00:00Z", architecture: $arch, os: "linux", config: $config,
      rootfs: { type: "layers", diff_ids: [$layer] },
      history: [{ created: "1970-01-01T00:00:00Z", created_by: $what }]
    }' >"$layout/config.json"
  local config_size config_digest
  config_size="$(size "$layout/config.json")"
  config_digest="$(put_blob "$layout" "$layout/config.json")"
  jq -cn --arg c "$config_digest" --argjson cs "$config_size" --arg l "$layer" --argjson ls "$layer_size" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls }]
    }' >"$layout/manifest.json"
  local manifest_size manifest
  manifest_size="$(size "$layout/manifest.json")"
  manifest="$(put_blob "$layout" "$layout/manifest.json")"
  jq -cn --arg m "$manifest" --argjson ms "$manifest_size" --arg arch "$arch" --arg ref "$ref" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
        platform: { architecture: $arch, os: "linux" },
        annotations: { "io.containerd.image.name": $ref, "org.opencontainers.image.ref.name": ($ref | sub(".*:"; "")) }
      }]
    }' >"$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  tar_dir "$layout" "$archive"
  say "$ref: $(basename "$archive") $(size "$archive") bytes, manifest $manifest"
}

# --- pause ---------------------------------------------------------------------------------------

say "compiling pause ($(gcc --version | sed -n 1p))"
root="$tmp/work/pause-root"
mkdir -p "$root"
gcc -static -Os -s -Wall -Wextra -Werror -DPAUSE_VERSION='"3.2-sprout"' -o "$root/pause" "$here/pause/pause.c"
chmod 0755 "$root/pause"
"$root/pause" --version >/dev/null || die "the pause binary does not run"
oci_image "$tmp/pause.tar" "$PAUSE_REF" "$root" '{"Entrypoint":["/pause"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}' \
  "sprout image-build/pause/pause.c, gcc -static -Os"

# --- toolbox -------------------------------------------------------------------------------------

deb="$cache/debs/busybox-static_$busybox_sha.deb"
if [ ! -f "$deb" ] || [ "$(sha "$deb")" != "$busybox_sha" ]; then
  say "downloading busybox-static"
  (cd "$tmp/work" && apt-get download -q busybox-static >/dev/null 2>&1) || die "apt-get download busybox-static failed"
  got="$(ls "$tmp"/work/busybox-static_*.deb)"
  [ "$(sha "$got")" = "$busybox_sha" ] || die "busybox-static: SHA-256 mismatch ($got)"
  mv "$got" "$deb"
fi
dpkg-deb -x "$deb" "$tmp/work/busybox-deb"
bb="$tmp/work/busybox-deb/bin/busybox"
[ -x "$bb" ] || die "busybox-static has no /bin/busybox"
# awk reads to the end: `head` would close the pipe early, SIGPIPE busybox, and fail under pipefail.
version="$({ "$bb" 2>&1 || true; } | awk 'NR == 1 { print $2 }')"

root="$tmp/work/toolbox-root"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/www/cgi-bin" "$root/root" "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp" "$root/var/tmp"
install -m 0755 "$bb" "$root/bin/busybox"
applets=0
while IFS= read -r path; do
  case "$path" in */*) ;; *) continue ;; esac
  [ "$path" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$path")"
  ln -s /bin/busybox "$root/$path"
  applets=$((applets + 1))
done < <("$bb" --list-full)
for a in sh httpd wget nc sleep cat hostname ip; do
  [ -L "$root/bin/$a" ] || [ -L "$root/sbin/$a" ] || [ -L "$root/usr/bin/$a" ] || [ -L "$root/usr/sbin/$a" ] ||
    die "busybox $version has no $a applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'sprout toolbox\n' >"$root/www/index.html"
# /cgi-bin/hostname answers with the serving pod's name: which replica answered a Service.
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\nhostname\n' >"$root/www/cgi-bin/hostname"
chmod 0755 "$root/www/cgi-bin/hostname"
oci_image "$tmp/toolbox.tar" "$TOOLBOX_REF" "$root" \
  '{"Entrypoint":["sh"],"Cmd":["-c","exec httpd -f -p 80 -h /www"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"ExposedPorts":{"80/tcp":{}},"WorkingDir":"/"}' \
  "sprout image-build/oci-images.sh: Debian busybox-static $version, $applets applets"

# --- publish -------------------------------------------------------------------------------------

rm -rf "$tmp/work"
(cd "$tmp" && sha256sum pause.tar toolbox.tar >SHA256SUMS)
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
touch "$cache/$hash.complete"
say "built $out"

# Keep the three newest builds.
mapfile -t old < <(cd "$cache" && ls -1t -- *.complete 2>/dev/null | sed 's/\.complete$//' | tail -n +4)
for h in "${old[@]}"; do
  rm -f "$cache/$h.complete"
  rm -rf "${cache:?}/$h"
done

echo "$out"
