#!/bin/sh
# mkimage.sh: build a tiny OCI image (an image-layout tar) without a
# registry, for tests and benchmarks:
#
#	scripts/mkimage.sh busybox OUT.tar [NAME]   Debian's busybox-static as a
#	                                             whole userland (sh, sleep, ...)
#	scripts/mkimage.sh pause OUT.tar [NAME]     sandboxd-pause as /pause
#
# Load it with: ctr -n k8s.io images import --snapshotter overlayfs OUT.tar
# NAME defaults to localhost/sandboxd/busybox:latest (or .../pause:latest).
# The pause program is $SANDBOXD_PAUSE_BIN, else build/sandboxd-pause beside
# this script, else the installed one; its shared libraries go in with it.
#
# The layout: oci-layout, index.json (one manifest with a platform and the
# io.containerd.image.name annotation containerd's import names the image
# by), blobs/sha256/: the config, the manifest and one uncompressed layer
# whose digest is the config's diff_id.  Files are written with fixed
# owners and times, so the same inputs give the same digests.
set -eu

usage() {
	echo "usage: $0 busybox|pause OUT.tar [NAME]" >&2
	exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
kind=$1
out=$2
case $kind in
busybox) name=${3:-localhost/sandboxd/busybox:latest} ;;
pause) name=${3:-localhost/sandboxd/pause:latest} ;;
*) usage ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
blobs=$work/layout/blobs/sha256
mkdir -p "$root" "$blobs"

# A file's sha256, bare.
digest() {
	sha256sum "$1" | cut -d' ' -f1
}

# Store a file as a blob; print "sha256:<hex> <size>".
put_blob() {
	d=$(digest "$1")
	cp "$1" "$blobs/$d"
	echo "sha256:$d $(stat -c %s "$1")"
}

# The common skeleton of a Linux root: mount points and the user database.
skeleton() {
	mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc" \
	    "$root/run" "$root/var/run"
	chmod 1777 "$root/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
	    >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	mkdir -p "$root/root"
}

# busybox: the static binary and a link per applet, all in /bin.
make_busybox() {
	bb=$(command -v busybox || true)
	[ -n "$bb" ] || { echo "$0: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
	if ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
		echo "$0: $bb is not static (install busybox-static)" >&2
		exit 1
	fi
	skeleton
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
	# One call makes every applet's link (a loop of ln is slow on a busy
	# machine); the links point where busybox itself is, so put it there.
	"$bb" --install -s "$root/bin"
	target=$(readlink "$root/bin/sh")
	mkdir -p "$root$(dirname "$target")"
	rm -f "$root$target"
	cp "$bb" "$root$target"
	[ -e "$root/bin/busybox" ] || ln -s "$target" "$root/bin/busybox"
	cmd='["sh"]'
	env='["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
}

# pause: sandboxd-pause as /pause, with the shared libraries it needs.
make_pause() {
	bin=${SANDBOXD_PAUSE_BIN:-}
	for c in "$here/../build/sandboxd-pause" /usr/local/libexec/sandboxd/sandboxd-pause \
	    /usr/libexec/sandboxd/sandboxd-pause; do
		[ -n "$bin" ] && break
		[ -x "$c" ] && bin=$c
	done
	[ -n "$bin" ] && [ -x "$bin" ] || { echo "$0: sandboxd-pause not found (set SANDBOXD_PAUSE_BIN)" >&2; exit 1; }
	skeleton
	cp "$bin" "$root/pause"
	for lib in $(ldd "$bin" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
		mkdir -p "$root/$(dirname "$lib")"
		cp -L "$lib" "$root/$lib"
	done
	cmd='["/pause"]'
	env='[]'
}

case $kind in
busybox) make_busybox ;;
pause) make_pause ;;
esac

# The layer: an uncompressed tar, so that its digest is its diff_id.
tar -C "$root" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime=@0 -cf "$work/layer.tar" .
set -- $(put_blob "$work/layer.tar")
layer=$1 layer_size=$2

cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","config":{"Env":$env,"Cmd":$cmd,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["$layer"]},"history":[{"created_by":"sandboxd scripts/mkimage.sh $kind"}]}
EOF
set -- $(put_blob "$work/config.json")
config=$1 config_size=$2

cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$layer","size":$layer_size}]}
EOF
set -- $(put_blob "$work/manifest.json")
manifest=$1 manifest_size=$2

tag=${name##*:}
case $name in */*:*) ;; *) tag=latest ;; esac
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
cat >"$work/layout/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$manifest","size":$manifest_size,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"$tag"}}]}
EOF

tar -C "$work/layout" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime=@0 -cf "$out" oci-layout index.json blobs
echo "$out: $name ($kind, manifest $manifest)"
