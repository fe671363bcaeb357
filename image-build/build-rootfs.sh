#!/usr/bin/env bash
# Builds the node image rootfs for the local provider: Debian bookworm (debootstrap, minbase) with
# systemd, containerd, runc, CNI plugins, iptables/conntrack, etcd, kubectl, Node.js and the
# Kubernetes binaries from image-build/kubernetes-binaries.sh, plus sprout-init (the node
# machine's first process, see rootfs/sprout-init), the OCI images a cluster needs
# (oci-images.sh) and the node agent with its systemd unit (agent/).
#
#   image-build/build-rootfs.sh        # prints the directory holding the finished rootfs
#
# Two stages, each cached outside the repo:
#   base   $SPROUT_CACHE/rootfs-base/<base-version>/: debootstrap, the packages, the Kubernetes
#          binaries, Node.js and the image's configuration. Its version hashes this script, the
#          files under image-build/rootfs/ (package list, init script), the mirror, the
#          Kubernetes binaries and the Node.js binary. About 40 s cold.
#   image  $SPROUT_CACHE/rootfs/<image-version>/ (the lowerdir of every node machine's overlay;
#          /etc/sprout/image-version inside holds the version): a hard-linked copy of the base
#          (`cp -al`, well under a second) plus the layer that changes often:
#            /usr/local/share/sprout/images/{pause,toolbox}.tar   from oci-images.sh
#            /usr/local/lib/sprout/sprout-agent.cjs               dist/sprout-agent.cjs
#            /usr/local/bin/sprout-agent, sprout-agent.service    agent/ (the unit is enabled)
#          The image version hashes the base version, the archives, the agent bundle and agent/.
#          A new agent bundle therefore costs a copy, not a debootstrap.
# Because image and base share inodes, nothing may change a file of the image in place after the
# copy (only new files, or rm + create); both are read-only lowerdirs afterwards.
# A warm run only hashes (under half a second: big files are hashed once, remembered by path,
# size, mtime and inode). Downloaded .debs are kept in $SPROUT_CACHE/debs.
#
# Node.js: the agent bundle needs Node >= 20.18 and bookworm ships 18.20, so the image gets the
# Node.js runtime of the machine that builds it (the one Sprout itself runs on; it needs only libc
# and libstdc++) as /usr/local/bin/node.
#
# The agent bundle is built with `node scripts/build.mjs` when dist/sprout-agent.cjs is missing
# (an existing one is used as it is: `npm run build` refreshes it).
#
# Environment:
#   SPROUT_CACHE            default /var/cache/sprout
#   SPROUT_DEBIAN_MIRROR    default: the machine's configured Debian mirror, else deb.debian.org
#   SPROUT_DEBIAN_SECURITY  default: <mirror>-security next to it
#   SPROUT_NODE             the node binary to install, default: `node` on PATH
#   SPROUT_AGENT_BUNDLE     the agent bundle to install, default: dist/sprout-agent.cjs
#   SPROUT_KEEP_IMAGES      older rootfs versions kept (never one still mounted), default 1
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../scripts/lib/host-packages.sh
. "$here/../scripts/lib/host-packages.sh"
cache="${SPROUT_CACHE:-/var/cache/sprout}"
suite=bookworm
files="$here/rootfs"
start=$(date +%s)
say() { echo "build-rootfs: [$(($(date +%s) - start))s] $*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"

# The machine's configured Debian mirror: the first deb822 URI or one-line `deb` entry ending in
# /debian (not -security, not third-party repositories).
host_mirror() {
  { grep -rhsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ || true; } |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | sed -n 1p | tr -d ' ' | sed 's:/$::'
}
mirror="${SPROUT_DEBIAN_MIRROR:-$(host_mirror)}"
mirror="${mirror:-http://deb.debian.org/debian}"
mirror="${mirror%/}"
security="${SPROUT_DEBIAN_SECURITY:-${mirror%/debian}/debian-security}"

# SPROUT_IMAGE_FLAVOR=vanilla builds the push baseline's "vanilla image" instead (bench/push): a
# plain Debian machine as a cloud image is — systemd, sshd, and Node.js standing in for the
# Python that Ansible needs on its targets — with nothing of Kubernetes. It is the base stage of
# packages-vanilla.txt only, kept in $SPROUT_CACHE/rootfs-vanilla/, and is printed instead.
flavor="${SPROUT_IMAGE_FLAVOR:-sprout}"
case "$flavor" in
  sprout) package_list="$files/packages.txt" bases="$cache/rootfs-base" ;;
  vanilla) package_list="$files/packages-vanilla.txt" bases="$cache/rootfs-vanilla" ;;
  *) die "SPROUT_IMAGE_FLAVOR=$flavor: choose sprout or vanilla" ;;
esac
packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$package_list" | grep -v '^$'; }

# --- inputs and versions -------------------------------------------------------------------------

repo="$(cd "$here/.." && pwd)"
node_bin="$(readlink -f "${SPROUT_NODE:-$(command -v node || true)}")"
[ -x "$node_bin" ] || die "no Node.js runtime to install in the image (set SPROUT_NODE)"
node_version="$("$node_bin" -p 'process.versions.node')"
"$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=18)?0:1)' ||
  die "$node_bin is Node.js $node_version; the agent needs >= 20.18"

# sha256sum of big files that rarely change (the Kubernetes binaries, node), remembered by path,
# size, mtime and inode: a warm run would otherwise spend most of its time re-reading 300 MB.
big_sha() { # big_sha FILE…: prints "<sha256>  <file>" lines like sha256sum
  local memo="$cache/rootfs-base/.sha256-memo" f key line
  mkdir -p "$cache/rootfs-base"
  touch "$memo"
  for f in "$@"; do
    key="$(stat -L -c '%s %Y %i' "$f") $(readlink -f "$f")"
    line="$(grep -F -m1 -- "$key	" "$memo" || true)"
    if [ -z "$line" ]; then
      line="$key	$(sha256sum <"$f" | cut -d' ' -f1)"
      echo "$line" >>"$memo"
    fi
    echo "${line##*	}  $f"
  done
}

k8s_bin="$("$here/kubernetes-binaries.sh")"
k8s_version="$(basename "$(dirname "$k8s_bin")")"
base_hash() {
  {
    echo "flavor=$flavor suite=$suite mirror=$mirror security=$security"
    # The script by content only: a checkout elsewhere (CI's clone, a worktree) reuses the same cache.
    sha256sum <"$here/build-rootfs.sh"
    (cd "$files" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    echo "kubernetes=$k8s_version"
    (cd "$k8s_bin" && big_sha ./*)
    echo "node=$node_version $(big_sha "$node_bin" | cut -d' ' -f1)"
  } | sha256sum | cut -c1-12
}
say "hashing inputs (script, $files, Kubernetes $k8s_version binaries)"
base_version="$suite-$(base_hash)"

images="$("$here/oci-images.sh")"

agent="${SPROUT_AGENT_BUNDLE:-$repo/dist/sprout-agent.cjs}"
if [ ! -f "$agent" ] && [ -z "${SPROUT_AGENT_BUNDLE:-}" ]; then
  say "building the agent bundle (node scripts/build.mjs)"
  [ -d "$repo/node_modules/esbuild" ] || die "cannot build $agent: no node_modules (run npm ci, or npm run build)"
  (cd "$repo" && "$node_bin" scripts/build.mjs) >&2 || die "node scripts/build.mjs failed"
fi
[ -f "$agent" ] || die "no agent bundle at $agent"
# The CLI too: a cloud master runs the coordinator (`sprout serve`), and the image is the same everywhere.
cli="${SPROUT_CLI_BUNDLE:-$repo/dist/sprout.cjs}"
[ -f "$cli" ] || die "no CLI bundle at $cli (run npm run build)"

image_hash() {
  {
    echo "base=$base_version"
    (cd "$images" && sha256sum pause.tar toolbox.tar)
    echo "agent=$(sha256sum <"$agent")"
    echo "cli=$(sha256sum <"$cli")"
    (cd "$here/agent" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-12
}
version="$suite-$(image_hash)"
root="$cache/rootfs/$version"
base="$bases/$base_version"

if [ "$flavor" = vanilla ] && [ -e "$bases/$base_version.complete" ] && [ -d "$base" ]; then
  say "cached: $base (vanilla)"
  echo "$base"
  exit 0
fi
if [ "$flavor" = sprout ] && [ -f "$root/etc/sprout/image-version" ] && [ -e "$cache/rootfs/$version.complete" ]; then
  say "cached: $root ($version)"
  echo "$root"
  exit 0
fi

mkdir -p "$cache/rootfs" "$bases" "$cache/debs"
exec 9>"$cache/rootfs/.lock"
say "waiting for the build lock" && flock 9 && say "got the build lock"
if [ "$flavor" = sprout ] && [ -e "$cache/rootfs/$version.complete" ]; then # another build finished meanwhile
  say "cached: $root ($version)"
  echo "$root"
  exit 0
fi

# --- stage 1: the base ---------------------------------------------------------------------------

build_base() {
  host_packages_ensure debootstrap

  tmp="$bases/$base_version.tmp"
  log="$bases/$base_version.log"
  : >"$log"
  # The build runs in its own mount namespace: /proc and the .deb cache mounted into the chroot
  # disappear with it, even if the build is killed, so the rm below never descends into a mount.
  if [ -d "$tmp" ]; then
    say "removing an unfinished earlier build"
    rm -rf --one-file-system "$tmp"
  fi
  mkdir -p "$tmp"

  build() {
    set -euo pipefail
    local t=$1
    mount --make-rprivate /
    say "debootstrap $suite (minbase) from $mirror; log: $log"
    debootstrap --variant=minbase --cache-dir="$cache/debs" "$suite" "$t" "$mirror" >>"$log" 2>&1 ||
      { tail -20 "$log" >&2; die "debootstrap failed (log: $log)"; }

    # Nothing started from maintainer scripts: this is an image, not a running machine.
    printf '#!/bin/sh\nexit 101\n' >"$t/usr/sbin/policy-rc.d" && chmod +x "$t/usr/sbin/policy-rc.d"
    cat >"$t/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    rm -f "$t/etc/apt/sources.list"
    mountpoint -q "$t/proc" || mount -t proc proc "$t/proc"
    mount --bind "$cache/debs" "$t/var/cache/apt/archives"
    local pkgs
    pkgs="$(packages | tr '\n' ' ')"
    say "apt-get update (in the rootfs)"
    chroot "$t" apt-get update -q >>"$log" 2>&1 || { tail -20 "$log" >&2; die "apt-get update failed (log: $log)"; }
    say "installing: $pkgs"
    # shellcheck disable=SC2086
    chroot "$t" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >>"$log" 2>&1 ||
      { tail -30 "$log" >&2; die "apt-get install failed (log: $log)"; }
    # No `apt-get clean`: the archives directory is the shared .deb cache, bound over the image's.
    umount "$t/var/cache/apt/archives" "$t/proc"
  }
  export -f build say die packages
  export cache log suite mirror security files start package_list
  unshare --mount --fork bash -c 'build "$1"' build "$tmp"

  say "configuring the base"
  # Kubernetes binaries (kubectl comes from the kubernetes-client package).
  if [ "$flavor" = sprout ]; then install -m 0755 "$k8s_bin"/* "$tmp/usr/local/bin/"; fi
  install -m 0755 "$node_bin" "$tmp/usr/local/bin/node"
  install -D -m 0755 "$files/sprout-init" "$tmp/usr/local/sbin/sprout-init"
  install -d -m 0755 "$tmp/etc/sprout"
  # Machines boot only a versioned rootfs; the vanilla image is its own base.
  if [ "$flavor" = vanilla ]; then echo "vanilla-$base_version" >"$tmp/etc/sprout/image-version"; fi

  # Identity is per machine: the provider writes hostname and a fresh machine-id before boot.
  : >"$tmp/etc/machine-id"
  ln -sf /etc/machine-id "$tmp/var/lib/dbus/machine-id"
  echo localhost >"$tmp/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$tmp/etc/hosts"
  : >"$tmp/etc/fstab"
  # The node's network is set up by the provider (address, default route); DNS comes later.
  : >"$tmp/etc/resolv.conf"

  # iptables: the legacy backend, which this kernel offers (ip_tables) and Kubernetes 1.20's
  # kube-proxy and kubelet expect to share with the CNI plugins.
  if [ "$flavor" = sprout ]; then
    chroot "$tmp" update-alternatives --set iptables /usr/sbin/iptables-legacy >>"$log" 2>&1
    chroot "$tmp" update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >>"$log" 2>&1
  fi

  # Units: containerd on; nothing that waits for a console, a network manager, or host hardware;
  # etcd, glusterd and nginx only where the agent configures their role; unbound runs as the
  # agent's sprout-dns.service, never as Debian's default instance. With systemd-networkd and its
  # wait-online service masked (and no ifupdown), nothing orders network-online.target: it is
  # reached as soon as a unit wants it.
  systemctl --root="$tmp" set-default multi-user.target >>"$log" 2>&1
  if [ "$flavor" = sprout ]; then systemctl --root="$tmp" enable containerd.service >>"$log" 2>&1; fi
  # Role services start where the agent configures that role, never on every node from the image.
  systemctl --root="$tmp" disable etcd.service glusterd.service nginx.service unbound.service unbound-resolvconf.service >>"$log" 2>&1 || true
  # sshd is off unless a provider turns it on, and every machine must have its own host keys: the
  # ones the package made are removed, and ssh.service makes missing ones before it starts (as
  # cloud-init does on a cloud image). A provider may also write pinned keys before boot.
  systemctl --root="$tmp" disable ssh.service ssh.socket >>"$log" 2>&1 || true
  rm -f "$tmp"/etc/ssh/ssh_host_*
  mkdir -p "$tmp/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' >"$tmp/etc/systemd/system/ssh.service.d/host-keys.conf"
  mask=(
    getty@.service serial-getty@.service console-getty.service getty.target
    systemd-networkd-wait-online.service systemd-networkd.service systemd-networkd.socket
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
    systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service
    systemd-modules-load.service kmod-static-nodes.service
    sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount
    proc-sys-fs-binfmt_misc.automount systemd-binfmt.service
    systemd-remount-fs.service systemd-firstboot.service systemd-hwdb-update.service
    systemd-journald-audit.socket systemd-pstore.service
  )
  for u in "${mask[@]}"; do ln -sfn /dev/null "$tmp/etc/systemd/system/$u"; done
  # Kernel-wide knobs belong to the host: a node's systemd-sysctl must not change kernel.*, vm.* or
  # fs.* for the whole machine (Debian ships fs.protected_* in 99-protect-links.conf). Network
  # settings are per network namespace and stay.
  for f in "$tmp"/usr/lib/sysctl.d/*.conf; do
    [ -f "$f" ] && sed -i -E 's/^[[:space:]]*-?(kernel|vm|fs)\./# host-wide, not set by a node machine: &/' "$f"
  done
  mkdir -p "$tmp/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=persistent\nForwardToConsole=no\nSystemMaxUse=64M\n' >"$tmp/etc/systemd/journald.conf.d/sprout.conf"

  rm -f "$tmp/usr/sbin/policy-rc.d"
  rm -rf "$tmp/var/lib/apt/lists/"* "$tmp/var/cache/apt/"*.bin "$tmp/var/log/"*.log "$tmp/var/log/apt/"*
  rm -rf "$tmp/tmp/"* "$tmp/var/tmp/"*

  rm -rf --one-file-system "$base"
  mv "$tmp" "$base"
  touch "$bases/$base_version.complete"
  say "built the base $base ($(du -sh --one-file-system "$base" | cut -f1)); log: $log"
}

if [ -e "$bases/$base_version.complete" ] && [ -d "$base" ]; then
  say "base cached: $base"
else
  build_base
fi
if [ "$flavor" = vanilla ]; then
  echo "$base"
  exit 0
fi

# --- stage 2: the image (base + images + agent) --------------------------------------------------

tmp="$cache/rootfs/$version.tmp"
if [ -d "$tmp" ]; then
  say "removing an unfinished earlier build"
  rm -rf --one-file-system "$tmp"
fi
say "image $version: base $base_version + images + agent"
# Hard links: the image shares every file with the base. Only new files are added below.
cp -al "$base" "$tmp"
install -d -m 0755 "$tmp/usr/local/share/sprout/images" "$tmp/usr/local/lib/sprout"
install -m 0644 "$images/pause.tar" "$images/toolbox.tar" "$tmp/usr/local/share/sprout/images/"
install -m 0644 "$agent" "$tmp/usr/local/lib/sprout/sprout-agent.cjs"
install -m 0755 "$here/agent/sprout-agent" "$tmp/usr/local/bin/sprout-agent"
install -m 0644 "$cli" "$tmp/usr/local/lib/sprout/sprout.cjs"
install -m 0755 "$here/agent/sprout" "$tmp/usr/local/bin/sprout"
install -m 0644 "$here/agent/sprout-agent.service" "$tmp/etc/systemd/system/sprout-agent.service"
systemctl --root="$tmp" enable sprout-agent.service >/dev/null 2>&1 || die "systemctl enable sprout-agent.service failed"
rm -f "$tmp/etc/sprout/image-version"
echo "$version" >"$tmp/etc/sprout/image-version"

# Publish: rename into place, then mark complete (a rootfs without its marker is never used).
rm -rf --one-file-system "$root"
mv "$tmp" "$root"
touch "$cache/rootfs/$version.complete"
say "built $root ($(du -sh --one-file-system "$root" | cut -f1))"

# Keep the newest SPROUT_KEEP_IMAGES older versions; never remove one a machine still uses.
keep="${SPROUT_KEEP_IMAGES:-1}"
mapfile -t old < <(cd "$cache/rootfs" && ls -1t -- *.complete 2>/dev/null | sed 's/\.complete$//' | grep -vxF "$version" | tail -n +"$((keep + 1))")
for v in "${old[@]}"; do
  if grep -qF "lowerdir=$cache/rootfs/$v" /proc/self/mountinfo; then continue; fi
  say "removing old image $v"
  rm -f "$cache/rootfs/$v.complete" "$cache/rootfs/$v.log"
  rm -rf --one-file-system "${cache:?}/rootfs/$v"
done
# Bases are never mounted (images are copies): keep the current one and SPROUT_KEEP_IMAGES others.
mapfile -t old < <(cd "$cache/rootfs-base" && ls -1t -- *.complete 2>/dev/null | sed 's/\.complete$//' | grep -vxF "$base_version" | tail -n +"$((keep + 1))")
for v in "${old[@]}"; do
  say "removing old base $v"
  rm -f "$cache/rootfs-base/$v.complete" "$cache/rootfs-base/$v.log"
  rm -rf --one-file-system "${cache:?}/rootfs-base/$v"
done

echo "$root"
