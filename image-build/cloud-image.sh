#!/usr/bin/env bash
# Builds Sprout's node image on a cloud VM (run by packer/, as root, on a Debian 12 or Ubuntu
# 22.04/24.04 base): the same image as build-rootfs.sh makes locally, with current Kubernetes
# release binaries instead of Debian's 1.20 and containerd 2.x (config version 3), and the images a
# node needs pre-pulled (pause, CoreDNS) so nodes never wait on a registry at boot. Everything
# downloaded is checked against its published SHA-256.
#
# Inputs (environment): KUBERNETES_VERSION (e.g. 1.31.4), CONTAINERD_VERSION, RUNC_VERSION,
# CNI_PLUGINS_VERSION, ETCD_VERSION, NODE_VERSION, COREDNS_IMAGE, PAUSE_IMAGE; SPROUT_BUNDLE: a
# directory holding sprout-agent.cjs, sprout.cjs, their wrappers and the agent's unit.
set -euo pipefail

: "${KUBERNETES_VERSION:?}" "${CONTAINERD_VERSION:?}" "${RUNC_VERSION:?}" "${CNI_PLUGINS_VERSION:?}" "${ETCD_VERSION:?}" "${NODE_VERSION:?}"
: "${PAUSE_IMAGE:?}" "${COREDNS_IMAGE:?}" "${SPROUT_BUNDLE:?}"
arch=amd64
say() { echo "cloud-image: $*" >&2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch URL SHA256 FILE: download and verify against a known digest.
fetch() {
  curl -fsSL --retry 5 -o "$3" "$1"
  echo "$2  $3" | sha256sum -c - >/dev/null || { say "checksum mismatch for $1"; exit 1; }
}
# fetch_checked URL SUMS_URL FILE: the digest comes from the release's own checksum file.
fetch_checked() {
  local sum
  sum="$(curl -fsSL --retry 5 "$2" | grep -E "(^| |\*)$(basename "$1")\$" | awk '{print $1}' | head -1)"
  [ -n "$sum" ] || sum="$(curl -fsSL --retry 5 "$2" | awk '{print $1}' | head -1)"
  [[ "$sum" =~ ^[0-9a-f]{64}$ ]] || { say "no SHA-256 for $1 in $2"; exit 1; }
  fetch "$1" "$sum" "$3"
}

say "packages"
export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d
apt-get update -q
nginx=nginx-light
apt-cache show nginx-light >/dev/null 2>&1 || nginx=nginx
apt-get install -y -q --no-install-recommends ca-certificates curl iproute2 iptables conntrack ethtool socat kmod procps \
  glusterfs-server glusterfs-client xfsprogs "$nginx" openssh-server cloud-init unbound python3-unbound
# Cluster DNS runs as the agent's sprout-dns.service, not Debian's default instance.
systemctl disable unbound.service unbound-resolvconf.service 2>/dev/null || true
rm -f /usr/sbin/policy-rc.d

say "containerd $CONTAINERD_VERSION, runc $RUNC_VERSION, CNI plugins $CNI_PLUGINS_VERSION"
base=https://github.com/containerd/containerd/releases/download/v$CONTAINERD_VERSION
fetch_checked "$base/containerd-$CONTAINERD_VERSION-linux-$arch.tar.gz" "$base/containerd-$CONTAINERD_VERSION-linux-$arch.tar.gz.sha256sum" "$work/containerd.tgz"
tar -C /usr/local -xzf "$work/containerd.tgz"
cat >/etc/systemd/system/containerd.service <<'UNIT'
[Unit]
Description=containerd container runtime
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
UNIT
base=https://github.com/opencontainers/runc/releases/download/v$RUNC_VERSION
fetch_checked "$base/runc.$arch" "$base/runc.sha256sum" "$work/runc.$arch"
install -m 0755 "$work/runc.$arch" /usr/local/sbin/runc
base=https://github.com/containernetworking/plugins/releases/download/v$CNI_PLUGINS_VERSION
fetch_checked "$base/cni-plugins-linux-$arch-v$CNI_PLUGINS_VERSION.tgz" "$base/cni-plugins-linux-$arch-v$CNI_PLUGINS_VERSION.tgz.sha256" "$work/cni.tgz"
# The agent's containerd config names /usr/lib/cni (Debian's place) and /opt/cni/bin.
install -d /usr/lib/cni /opt/cni && tar -C /usr/lib/cni -xzf "$work/cni.tgz" && ln -sfn /usr/lib/cni /opt/cni/bin
ln -sf /usr/local/bin/ctr /usr/bin/ctr

say "Kubernetes $KUBERNETES_VERSION"
for b in kubelet kube-proxy kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  url="https://dl.k8s.io/release/v$KUBERNETES_VERSION/bin/linux/$arch/$b"
  fetch "$url" "$(curl -fsSL --retry 5 "$url.sha256")" "$work/$b"
  install -m 0755 "$work/$b" "/usr/local/bin/$b"
done
ln -sf /usr/local/bin/kubectl /usr/bin/kubectl

say "etcd $ETCD_VERSION"
base=https://github.com/etcd-io/etcd/releases/download/v$ETCD_VERSION
fetch_checked "$base/etcd-v$ETCD_VERSION-linux-$arch.tar.gz" "$base/SHA256SUMS" "$work/etcd.tgz"
tar -C "$work" -xzf "$work/etcd.tgz"
install -m 0755 "$work/etcd-v$ETCD_VERSION-linux-$arch/etcd" "$work/etcd-v$ETCD_VERSION-linux-$arch/etcdctl" /usr/bin/
id etcd >/dev/null 2>&1 || useradd --system --home-dir /var/lib/etcd --shell /usr/sbin/nologin etcd

say "Node.js $NODE_VERSION (the agent's runtime)"
base=https://nodejs.org/dist/v$NODE_VERSION
fetch_checked "$base/node-v$NODE_VERSION-linux-x64.tar.xz" "$base/SHASUMS256.txt" "$work/node.txz"
tar -C "$work" -xJf "$work/node.txz"
install -m 0755 "$work/node-v$NODE_VERSION-linux-x64/bin/node" /usr/local/bin/node

say "the agent and the coordinator"
install -D -m 0644 "$SPROUT_BUNDLE/sprout-agent.cjs" /usr/local/lib/sprout/sprout-agent.cjs
install -D -m 0644 "$SPROUT_BUNDLE/sprout.cjs" /usr/local/lib/sprout/sprout.cjs
install -m 0755 "$SPROUT_BUNDLE/sprout-agent" /usr/local/bin/sprout-agent
install -m 0755 "$SPROUT_BUNDLE/sprout" /usr/local/bin/sprout
install -m 0644 "$SPROUT_BUNDLE/sprout-agent.service" /etc/systemd/system/sprout-agent.service

say "pre-pulled images: $PAUSE_IMAGE $COREDNS_IMAGE"
systemctl daemon-reload
systemctl enable --now containerd.service
install -d -m 0755 /usr/local/share/sprout/images
for image in "$PAUSE_IMAGE" "$COREDNS_IMAGE"; do
  ctr -n k8s.io images pull --platform "linux/$arch" "$image" >/dev/null
  name="$(echo "$image" | sed 's|.*/||; s|:|-|')"
  ctr -n k8s.io images export --platform "linux/$arch" "/usr/local/share/sprout/images/$name.tar" "$image"
done

say "services and identity"
# Google's guest agent makes new SSH host keys at an instance's first boot by default, racing
# cloud-init's ssh_keys: the master's key, pinned by the CLI, must be the one it gets.
install -d -m 0755 /etc/default
printf '[InstanceSetup]\nset_host_keys = false\n' >/etc/default/instance_configs.cfg
# Role services start where the agent configures the role; the agent starts when a bootstrap file exists.
systemctl disable glusterd.service nginx.service >/dev/null 2>&1 || true
systemctl enable sprout-agent.service containerd.service
# iptables: kube-proxy and the CNI plugins must share one backend; nft is the default on these bases.
install -d -m 0755 /etc/sprout
echo "cloud-$KUBERNETES_VERSION-$(date -u +%Y%m%d%H%M)" >/etc/sprout/image-version

say "cleaning: every VM from this image is new"
apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/*
cloud-init clean --logs --seed
rm -f /etc/ssh/ssh_host_*
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id && ln -s /etc/machine-id /var/lib/dbus/machine-id
say "done: $(cat /etc/sprout/image-version)"
