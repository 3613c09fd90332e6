# shellcheck shell=bash disable=SC2154  # $work, bh, log and fail are image.sh's
# make_base DEBIAN_IMAGE NAME: a Debian base for .ci/image.sh (sourced by it; uses its bh, log,
# fail and $work). DEBIAN_IMAGE is the Dockerfile's FROM (debian:<release>-slim): debootstrap
# writes that release into a buildah working container from this machine's Debian mirror, it is
# trimmed as the Docker Hub slim images are, and committed as NAME, the name the FROM resolves
# to, so building the Dockerfile asks no registry. Debian's package list of the base is left in
# $work/base-packages.

# The mirrors this machine's apt uses (apt's own view, whatever the sources file format), else
# deb.debian.org: "500 http://deb.debian.org/debian bookworm/main amd64 Packages".
apt_mirror() {
  local pattern="$1" fallback="$2" found
  found="$(apt-cache policy 2>/dev/null | awk -v p="$pattern" \
    '$2 ~ /^https?:\/\// && $3 ~ p { print $2; exit }')"
  echo "${found:-$fallback}"
}

make_base() {
  local from="$1" name="$2" release ctr root mirror security since=$SECONDS
  release="${from#debian:}"
  release="${release%-slim}"
  mirror="$(apt_mirror '^[a-z]+(-updates)?/main$' http://deb.debian.org/debian)"
  security="$(apt_mirror '^[a-z]+-security/main$' http://deb.debian.org/debian-security)"
  echo "release $release from $mirror (security: $security)"

  ctr="$(bh from scratch)"
  root="$(bh mount "$ctr")"
  debootstrap --variant=minbase "$release" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap $release from $mirror"; }
  echo "debootstrap: $((SECONDS - since)) s"

  # The slim images' trim (Docker Hub's debian:*-slim, made by debuerreotype): no manuals, docs
  # (copyrights kept) or translations, now or from packages installed later.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  rm -rf "$root"/usr/share/{info,linda,locale,man}/* "$root"/usr/share/lintian/overrides/*
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete

  # The Docker Hub images' apt settings: no package cache or .debs left behind, no translations.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"

  # Their sources too: the release, its updates and its security updates.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

  # Nothing of this machine or of the download: lists, caches, logs, host name, resolver.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/log/* "$root"/tmp/* "$root/etc/hostname" "$root/etc/resolv.conf"
  : >"$root/etc/machine-id"
  dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}\n' | sort >"$work/base-packages"

  bh umount "$ctr" >/dev/null
  bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash "$ctr"
  bh commit --quiet --rm --format docker "$ctr" "$name" >/dev/null
  echo "$name: $(wc -l <"$work/base-packages") Debian packages, $(bh images --format '{{.Size}}' "$name")"
}
