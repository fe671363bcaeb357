# shellcheck shell=bash
# Sourced by scripts/setup and the image-build scripts: checks and installs the host packages
# listed in scripts/host-packages.txt, the one list of what the host needs.
#
#   host_packages_ensure [PKG…]   installs those of PKG… (all listed ones if none) that are missing;
#                                 a PKG the list does not name is an error, so nothing is
#                                 installed that the list would not show.
HOST_PACKAGES_LIST="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/host-packages.txt"

# Prints "package probe" for every listed package (the probe is the first thing it provides).
host_packages_list() {
  awk '!/^[[:space:]]*(#|$)/ { split($2, p, ","); print $1, p[1] }' "$HOST_PACKAGES_LIST"
}

host_package_present() { # host_package_present PROBE
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

host_packages_ensure() {
  local listed wanted=() missing=() pkg probe
  listed="$(host_packages_list)"
  if [ $# -eq 0 ]; then
    while read -r pkg _; do wanted+=("$pkg"); done <<<"$listed"
  else
    wanted=("$@")
  fi
  for pkg in "${wanted[@]}"; do
    probe="$(awk -v p="$pkg" '$1 == p { print $2 }' <<<"$listed")"
    if [ -z "$probe" ]; then
      echo "host packages: $pkg is not in $HOST_PACKAGES_LIST; add it there (with what needs it) before using it" >&2
      return 1
    fi
    host_package_present "$probe" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]} (apt)" >&2
  # A fresh machine has no package lists yet; stale ones fail the install, so update once then.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ]; then
    echo "setup: apt-get update" >&2
    apt-get update -qq
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    echo "setup: apt-get update (the install failed with the current package lists)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  for pkg in "${missing[@]}"; do
    probe="$(awk -v p="$pkg" '$1 == p { print $2 }' <<<"$listed")"
    host_package_present "$probe" || { echo "setup: $pkg was installed but $probe is still missing" >&2; return 1; }
  done
}
