#!/usr/bin/env bash
# ops/docker/base-images.sh [ensure|list] — the images that Dockerfile and docker-compose.yml name,
# made on this machine from Debian packages and Go modules, because no image registry is
# reachable here. Each stands in for the official image of the same tag:
#   debian:<suite>-slim         debootstrap --variant=minbase, slimmed like the official variant
#   docker/dockerfile:1         BuildKit's Dockerfile frontend from its Go module (the `# syntax=`)
#   rust:<ver>-slim-<suite>     the host's Rust <ver> toolchain + gcc; crates vendored from Cargo.lock
#   nginx:<tag>                 Debian's nginx, started as the official image starts it
#   rabbitmq:<tag>-management   Debian's rabbitmq-server with the official image's contract
# The tags are read from Dockerfile and docker-compose.yml, so neither file names anything else.
# Every stand-in carries the labels org.bardo.stand-in (what it replaces) and org.bardo.recipe (a
# hash of everything that made it): a current one is kept, a stale one rebuilt, and an image
# without the label (an official one, where a registry is reachable) is never touched.
# Needs a running engine (ops/docker-engine.sh ensure calls this), debootstrap, go and cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=ops/docker
CACHE="${BARDO_DOCKER_CACHE:-/var/cache/bardo-docker}"
MIRROR="${BARDO_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NICE=(nice -n "${BARDO_NICE:-10}")
GO="$(command -v go || echo /usr/local/go/bin/go)"

say() { echo "base-images: $*"; }
die() { echo "base-images: ERROR: $*" >&2; exit 1; }

# The images the deployment files start from, one per line: Dockerfile's `# syntax=` and FROM
# lines (stage names skipped), then docker-compose.yml's `image:` lines (bardo's own skipped).
wanted() {
  local stages
  stages=$(awk 'toupper($1) == "FROM" { for (i = 2; i < NF; i++) if (toupper($i) == "AS") print $(i + 1) }' Dockerfile)
  sed -n 's/^# *syntax *= *\([^ ]*\).*/\1/p' Dockerfile
  awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' Dockerfile |
    grep -vxF -f <(echo "$stages") || true
  sed -n 's/^ *image: *"\{0,1\}\([^" ]*\)"\{0,1\}.*/\1/p' docker-compose.yml | grep -v '^bardo:' || true
}

label() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# current IMAGE RECIPE: 0 when IMAGE needs no build (a current stand-in, or not a stand-in at all).
current() {
  docker image inspect "$1" >/dev/null 2>&1 || return 1
  if [ -z "$(label "$1" org.bardo.stand-in)" ]; then
    say "$1 present and not a stand-in (an official image?): kept as it is"
    return 0
  fi
  [ "$(label "$1" org.bardo.recipe)" = "$2" ]
}

# recipe FILE... [-- WORDS...]: hash of the files' contents and of the extra words.
recipe() {
  local files=() words=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
  [ $# -gt 0 ] && shift && words=("$@")
  { cat "${files[@]}"; printf '%s\n' "${words[@]}"; } | sha256sum | cut -c1-16
}

# build TAG RECIPE CONTEXT DOCKERFILE [docker build args]: the classic builder, on the host's
# network so that apt-get reaches the Debian mirror (build containers have no route out).
build() {
  local tag=$1 hash=$2 ctx=$3 file=$4
  shift 4
  DOCKER_BUILDKIT=0 "${NICE[@]}" docker build -q --network host --label "org.bardo.stand-in=$tag" \
    --label "org.bardo.recipe=$hash" -t "$tag" -f "$file" "$@" "$ctx" >/dev/null 2>"$CACHE/build.err" ||
    { cat "$CACHE/build.err" >&2; die "building $tag failed"; }
}

# ---------------------------------------------------------------- debian:<suite>-slim
# The slim variant's trimming: documentation, manual pages and translations out (also for packages
# installed later), apt's sources for the suite, no service starts inside image builds, and none
# of this host's names or resolvers left in the tree (the engine mounts its own).
slim() {
  local root=$1 suite=$2
  install -m 0644 "$HERE/debian/dpkg-slim.cfg" "$root/etc/dpkg/dpkg.cfg.d/bardo-slim"
  install -m 0644 "$HERE/debian/apt-clean.conf" "$root/etc/apt/apt.conf.d/bardo-clean"
  install -m 0755 "$HERE/debian/policy-rc.d" "$root/usr/sbin/policy-rc.d"
  sed "s/@SUITE@/$suite/g" "$HERE/debian/debian.sources" >"$root/etc/apt/sources.list.d/debian.sources"
  rm -f "$root/etc/apt/sources.list"
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  rm -rf "$root"/usr/share/{man,info,locale,groff,lintian}/* "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  : >"$root/etc/hostname"
  : >"$root/etc/resolv.conf"
}

make_debian() {
  local tag=$1 suite hash root
  suite=${tag#debian:}
  suite=${suite%-slim}
  hash=$(recipe "$HERE"/debian/* -- "$MIRROR" "$suite" "$(declare -f make_debian slim)")
  current "$tag" "$hash" && return 0
  command -v debootstrap >/dev/null || die "debootstrap is missing (ops/docker-engine.sh ensure installs it)"
  say "building $tag: debootstrap --variant=minbase $suite from $MIRROR"
  root="$CACHE/rootfs-$suite"
  rm -rf "$root"
  "${NICE[@]}" debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap $suite failed (is $MIRROR reachable?)"; }
  slim "$root" "$suite"
  tar --numeric-owner -C "$root" -cf - . |
    docker import --change 'CMD ["bash"]' --change "LABEL org.bardo.stand-in=$tag" \
      --change "LABEL org.bardo.recipe=$hash" - "$tag" >/dev/null
  rm -rf "$root"
}

# ---------------------------------------------------------------- docker/dockerfile:1
make_frontend() {
  local tag=$1 hash ctx="$CACHE/frontend"
  hash=$(recipe "$HERE"/frontend/{Dockerfile,go.mod,go.sum} -- "$(declare -f make_frontend)")
  current "$tag" "$hash" && return 0
  [ -x "$GO" ] || die "go is missing: it builds BuildKit's Dockerfile frontend for $tag"
  say "building $tag: BuildKit $(awk '$1 == "github.com/moby/buildkit" { print $2 }' "$HERE/frontend/go.mod")'s Dockerfile frontend (go build)"
  mkdir -p "$ctx"
  (cd "$HERE/frontend" && CGO_ENABLED=0 "${NICE[@]}" "$GO" build -trimpath -ldflags "-s -w" \
    -tags "netgo static_build osusergo" -o "$ctx/dockerfile-frontend" \
    github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend) ||
    die "go build of the Dockerfile frontend failed (Go module proxy reachable?)"
  build "$tag" "$hash" "$ctx" "$HERE/frontend/Dockerfile"
  rm -rf "$ctx"
}

# ---------------------------------------------------------------- rust:<version>-slim-<suite>
# host_toolchain VERSION: the sysroot of a toolchain on this host whose rustc is VERSION(.x).
host_toolchain() {
  local want=$1 dir version
  for dir in "$(rustc --print sysroot 2>/dev/null)" "${RUSTUP_HOME:-$HOME/.rustup}"/toolchains/*; do
    [ -x "$dir/bin/rustc" ] || continue
    version=$("$dir/bin/rustc" --version 2>/dev/null | awk '{ print $2 }')
    if [ "$version" = "$want" ] || [[ "$version" == "$want".* ]]; then echo "$dir"; return 0; fi
  done
  return 1
}

# rust_context SYSROOT: the build context, the toolchain (hard links where possible; no share/,
# the documentation, as in rustup's minimal profile), rustup itself and the vendored crates.
rust_context() {
  local sysroot=$1 ctx="$CACHE/rust" part rustup
  rustup=$(readlink -f "$(command -v rustup)") || die "rustup is missing (the image keeps rustup's layout)"
  rm -rf "$ctx"
  mkdir -p "$ctx/toolchain"
  for part in bin lib libexec etc; do
    [ -d "$sysroot/$part" ] || continue
    cp -al "$sysroot/$part" "$ctx/toolchain/" 2>/dev/null ||
      { rm -rf "${ctx:?}/toolchain/$part"; cp -a "$sysroot/$part" "$ctx/toolchain/"; }
  done
  cp "$rustup" "$ctx/rustup"
  cp "$HERE/rust/cargo-config.toml" "$ctx/"
  "${NICE[@]}" cargo vendor --locked --quiet --manifest-path "$PWD/Cargo.toml" "$ctx/vendor" >/dev/null ||
    die "cargo vendor --locked failed (crates.io reachable from the host? Cargo.lock current?)"
}

make_rust() {
  local tag=$1 base=$2 want sysroot version host hash
  want=${tag#rust:}
  want=${want%%-*}
  make_debian "$base"
  sysroot=$(host_toolchain "$want") ||
    die "$tag needs Rust $want on this host (the image holds the version its tag names): rustup toolchain install $want"
  version=$("$sysroot/bin/rustc" --version | awk '{ print $2 }')
  host=$("$sysroot/bin/rustc" -vV | sed -n 's/^host: //p')
  hash=$(recipe "$HERE"/rust/* Cargo.lock -- "$version" "$host" "$(label "$base" org.bardo.recipe)" \
    "$(declare -f make_rust rust_context)")
  current "$tag" "$hash" && return 0
  say "building $tag: the host's rustc $version, Debian's gcc, the crates of Cargo.lock"
  rust_context "$sysroot"
  build "$tag" "$hash" "$CACHE/rust" "$HERE/rust/Dockerfile" --build-arg BASE="$base" \
    --build-arg RUST_VERSION="$version" --build-arg RUST_TOOLCHAIN="$version-$host"
  rm -rf "$CACHE/rust"
}

# ---------------------------------------------------------------- nginx, rabbitmq
# make_package TAG BASE DIR: a Dockerfile in ops/docker/DIR that installs Debian's package.
make_package() {
  local tag=$1 base=$2 dir=$3 hash
  hash=$(recipe "$HERE/$dir"/* -- "$(label "$base" org.bardo.recipe)" "$(declare -f make_package)")
  current "$tag" "$hash" && return 0
  say "building $tag: Debian's package on $base ($HERE/$dir)"
  build "$tag" "$hash" "$HERE/$dir" "$HERE/$dir/Dockerfile" --build-arg BASE="$base"
}

# ---------------------------------------------------------------- main
make_one() {
  local tag=$1 base=$2
  case "$tag" in
    debian:*-slim) make_debian "$tag" ;;
    docker/dockerfile:*) make_frontend "$tag" ;;
    rust:*-slim-*) make_rust "$tag" "debian:${tag##*-slim-}-slim" ;;
    nginx:*) make_package "$tag" "$base" nginx ;;
    rabbitmq:*-management) make_package "$tag" "$base" rabbitmq ;;
    *) die "no local recipe for $tag (named in Dockerfile or docker-compose.yml)" ;;
  esac
}

ensure() {
  docker info >/dev/null 2>&1 || die "no Docker engine answers (run ops/docker-engine.sh ensure)"
  mkdir -p "$CACHE"
  local images base tag started=$SECONDS
  mapfile -t images < <(wanted)
  base=$(printf '%s\n' "${images[@]}" | grep -m1 '^debian:.*-slim$') ||
    die "the Dockerfile names no debian:<suite>-slim runtime base"
  # The Debian bases first (everything else is built on them), then the rest in file order.
  for tag in $(printf '%s\n' "${images[@]}" | grep '^debian:'; printf '%s\n' "${images[@]}" | grep -v '^debian:'); do
    make_one "$tag" "$base"
  done
  say "ready in $((SECONDS - started)) s: ${images[*]}"
}

list() {
  local tag kind
  for tag in $(wanted); do
    kind=$(label "$tag" org.bardo.stand-in)
    if ! docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag: missing"
    elif [ -n "$kind" ]; then echo "$tag: stand-in (recipe $(label "$tag" org.bardo.recipe))"
    else echo "$tag: present, not a stand-in"; fi
  done
}

case "${1:-ensure}" in
  ensure) ensure ;;
  list) list ;;
  *) echo "usage: $0 [ensure|list]" >&2; exit 2 ;;
esac
