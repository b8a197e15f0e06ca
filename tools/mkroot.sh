#!/usr/bin/env bash
# mkroot.sh DIR: the default guest root, made from Debian's busybox-static:
# busybox and its applets, and the few files a shell session expects.
set -euo pipefail
dir=${1:?usage: mkroot.sh DIR}
[ -x /bin/busybox ] || { echo "mkroot.sh: /bin/busybox missing: apt-get install busybox-static" >&2; exit 1; }
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home}
cp /bin/busybox "$dir/bin/busybox"
/bin/busybox --list-full | while read -r applet; do
	[ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
done
chmod 1777 "$dir/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
echo "default root ready in $dir" >&2
