#!/bin/sh
# check-image.sh: the root filesystem deploy/Containerfile puts in the image, built here by the
# same script (deploy/image-rootfs.sh) into a temporary directory: both daemons run in it as the
# non-root user (chroot), the speaker carries cap_net_raw+ep, and nothing else is in it (no
# shell). The image build itself needs a container engine, which this machine does not run.
# Skips (77) without root (chroot, setcap) or without setcap/getcap.
set -u
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "skip: chroot and setcap need root"
	exit 77
fi
for t in setcap getcap chroot ldd; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "skip: $t is not installed (libcap2-bin, coreutils, libc-bin)"
		exit 77
	}
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/rootfs

if sh "$L2LB_TOP/deploy/image-rootfs.sh" "$root" "$L2LB_BUILD/bin" >"$work/out" 2>&1; then
	t_ok "deploy/image-rootfs.sh assembles the root filesystem"
else
	t_fail "deploy/image-rootfs.sh assembles the root filesystem" "$(cat "$work/out")"
	t_summary
	exit 1
fi

for b in l2lb-controller l2lb-speaker; do
	out=$(chroot --userspec=65532:65532 "$root" "/usr/bin/$b" --version 2>&1)
	want="$b $("$L2LB_BUILD/bin/$b" --version | cut -d' ' -f2)"
	if [ "$out" = "$want" ]; then
		t_ok "$b --version runs in the image as user 65532 ($out)"
	else
		t_fail "$b --version runs in the image as user 65532" "got '$out', want '$want'"
	fi
done

caps=$(getcap "$root/usr/bin/l2lb-speaker" 2>&1)
case $caps in
*" cap_net_raw=ep") t_ok "the speaker carries the file capability cap_net_raw+ep" ;;
*) t_fail "the speaker carries the file capability cap_net_raw+ep" "getcap said '$caps'" ;;
esac
caps=$(getcap "$root/usr/bin/l2lb-controller" 2>&1)
if [ -z "$caps" ]; then
	t_ok "the controller carries no file capability"
else
	t_fail "the controller carries no file capability" "getcap said '$caps'"
fi

if grep -qx 'l2lb:x:65532:65532:l2lb:/nonexistent:/usr/sbin/nologin' "$root/etc/passwd"; then
	t_ok "/etc/passwd names the non-root user l2lb (65532)"
else
	t_fail "/etc/passwd names the non-root user l2lb (65532)" "$(cat "$root/etc/passwd")"
fi
if [ -s "$root/etc/ssl/certs/ca-certificates.crt" ]; then
	t_ok "the CA certificates are in the image"
else
	t_fail "the CA certificates are in the image" "no /etc/ssl/certs/ca-certificates.crt"
fi

# Only the daemons, their libraries (and the loader) and the few files above: no shell, no tools.
extra=$(cd "$root" && find . -type f | grep -v -e '^\./usr/bin/l2lb-controller$' \
	-e '^\./usr/bin/l2lb-speaker$' -e '^\./etc/passwd$' -e '^\./etc/group$' \
	-e '^\./etc/ssl/certs/ca-certificates\.crt$' -e '^\./lib[^/]*/.*\.so[.0-9]*$' \
	-e '^\./lib[^/]*/[^/]*/.*\.so[.0-9]*$')
if [ -z "$extra" ] && [ ! -e "$root/bin/sh" ]; then
	t_ok "nothing else is in the image (no shell)"
else
	t_fail "nothing else is in the image (no shell)" "$extra"
fi
echo "     image root filesystem: $(du -sk "$root" | cut -f1) KiB, $(find "$root" -name '*.so*' | wc -l) shared libraries"
t_summary
