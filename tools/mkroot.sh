#!/usr/bin/env bash
# mkroot.sh DIR: the default guest root, made from Debian's busybox-static:
# busybox and its applets, and the few files a shell session expects.
set -euo pipefail
dir=${1:?usage: mkroot.sh DIR}
[ -x /bin/busybox ] || { echo "mkroot.sh: /bin/busybox missing: apt-get install busybox-static" >&2; exit 1; }
# A merged /usr: every applet under /bin, /sbin, /usr/bin and /usr/sbin.
# One busybox --install instead of a process per applet: in the test host,
# where every fork is emulated, that is a second instead of a minute.
mkdir -p "$dir"/{bin,usr,etc,proc,sys,dev,tmp,root,home}
for link in sbin:bin usr/bin:../bin usr/sbin:../bin; do
	[ -e "$dir/${link%%:*}" ] || ln -s "${link#*:}" "$dir/${link%%:*}"
done
cp /bin/busybox "$dir/bin/busybox"
/bin/busybox --install -s "$dir/bin"
chmod 1777 "$dir/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
echo "default root ready in $dir" >&2
