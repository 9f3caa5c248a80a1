#!/bin/sh
# image-rootfs.sh DEST [BINDIR]: assembles the container image's root filesystem in DEST (which
# must not exist yet or be empty): the two daemons from BINDIR (default build/bin), exactly the
# shared libraries ldd says they load, the CA certificates, an /etc/passwd and /etc/group with
# the non-root user l2lb (65532), and the file capability cap_net_raw+ep on the speaker (a
# capability in the pod spec is not effective for a non-root process by itself).
# deploy/Containerfile runs it; test/deploy/check-image.sh runs it and chroots into the result.
# Needs ldd and setcap (libcap2-bin); run as root so the capability can be set.
set -eu
[ $# -ge 1 ] || {
	echo "usage: image-rootfs.sh DEST [BINDIR]" >&2
	exit 2
}
dest=$1
bindir=${2:-build/bin}
bins="l2lb-controller l2lb-speaker"
uid=65532

if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
	echo "image-rootfs: $dest is not empty" >&2
	exit 1
fi
command -v setcap >/dev/null 2>&1 || {
	echo "image-rootfs: setcap not found (Debian package libcap2-bin)" >&2
	exit 1
}
mkdir -p "$dest/usr/bin" "$dest/etc/ssl/certs" "$dest/tmp"
chmod 1777 "$dest/tmp"
for b in $bins; do
	[ -x "$bindir/$b" ] || {
		echo "image-rootfs: $bindir/$b is missing: run make first" >&2
		exit 1
	}
	cp "$bindir/$b" "$dest/usr/bin/$b"
done

# ldd prints "libx.so.1 => /path (0x...)" for each library and "/path/ld-linux... (0x...)" for
# the loader; each is copied, symlinks resolved, to the same path it was found at.
libs=$(for b in $bins; do
	ldd "$bindir/$b" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u)
[ -n "$libs" ] || {
	echo "image-rootfs: ldd listed no libraries" >&2
	exit 1
}
for lib in $libs; do
	mkdir -p "$dest$(dirname "$lib")"
	cp -L "$lib" "$dest$lib"
done

# libcurl verifies the API server against the service account's CA; the system bundle is there
# for a kubeconfig that names a server with a public certificate.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	cp /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/"
else
	echo "image-rootfs: /etc/ssl/certs/ca-certificates.crt missing (package ca-certificates)" >&2
	exit 1
fi
echo "l2lb:x:$uid:$uid:l2lb:/nonexistent:/usr/sbin/nologin" >"$dest/etc/passwd"
echo "l2lb:x:$uid:" >"$dest/etc/group"
setcap cap_net_raw+ep "$dest/usr/bin/l2lb-speaker"
