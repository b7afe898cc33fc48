# shellcheck shell=bash
# Shared bash helpers of the nested test host (sourced, not run).
#
# nested_die MSG               print "nested: MSG" on stderr and exit 1
# nested_kernel_version        the newest Debian kernel under /boot that has its
#                              modules under /lib/modules (or $NESTED_KERNEL)
# nested_copy_with_libs ROOT FILE DEST
#                              copy an executable and every shared library ldd
#                              lists (the dynamic loader included) under ROOT
# nested_module_order KVER NAME...
#                              the modules' files in load order, dependencies
#                              first (modinfo -F depends, recursively)
# nested_add_module ROOT FILE
#                              copy one module to ROOT/lib/modules/, decompressed
# nested_list_uses_l2 LIST     true when a test command names $L2 (Linux guests)
# nested_dlopen_libs           mkinitramfs -f arguments for the libraries trapeze
#                              loads at run time (dlopen), which ldd cannot list

nested_die() {
	echo "nested: $*" >&2
	exit 1
}

nested_kernel_version() {
	local f v best=""

	if [ -n "${NESTED_KERNEL:-}" ]; then
		[ -f "/boot/vmlinuz-$NESTED_KERNEL" ] ||
			nested_die "NESTED_KERNEL=$NESTED_KERNEL but /boot/vmlinuz-$NESTED_KERNEL is missing"
		echo "$NESTED_KERNEL"
		return 0
	fi
	# sort -V orders 6.1.0-9 before 6.1.0-56, as Debian's ABI numbers mean.
	for v in $(for f in /boot/vmlinuz-*; do echo "${f#/boot/vmlinuz-}"; done | sort -V); do
		[ -f "/boot/vmlinuz-$v" ] && [ -d "/lib/modules/$v/kernel" ] && best=$v
	done
	[ -n "$best" ] ||
		nested_die "no Debian kernel: need /boot/vmlinuz-VERSION and /lib/modules/VERSION (apt-get install linux-image-amd64)"
	echo "$best"
}

nested_copy_with_libs() {
	local root=$1 file=$2 dest=$3 lib libs

	[ -f "$file" ] || nested_die "$file: not found"
	if ! { mkdir -p "$root/$(dirname "$dest")" && cp -L "$file" "$root/$dest" &&
		chmod 755 "$root/$dest"; }; then
		nested_die "cannot copy $file"
	fi
	# ldd fails on a static binary ("not a dynamic executable"): nothing to add.
	# Every absolute path it prints (libraries and the loader) is copied to the
	# same path, so the binary's PT_INTERP and the loader's search path agree.
	libs=$(ldd "$file" 2>/dev/null | grep -o '/[^ ]*') || return 0
	for lib in $libs; do
		if ! { mkdir -p "$root/$(dirname "$lib")" && cp -L "$lib" "$root/$lib"; }; then
			nested_die "cannot copy $lib (for $file)"
		fi
	done
}

# Depth-first, dependencies before their users, each module once.
_nested_module_visit() {
	local kver=$1 name=${2//-/_} file dep

	case " $_nested_seen " in *" $name "*) return 0 ;; esac
	_nested_seen="$_nested_seen $name"
	file=$(modinfo -k "$kver" -n "$name" 2>/dev/null) ||
		nested_die "module $name not found for kernel $kver (linux-image-$kver, kmod installed?)"
	case "$file" in /*) ;; *) nested_die "module $name is built into $kver, not a file" ;; esac
	for dep in $(modinfo -k "$kver" -F depends "$name" | tr ',' ' '); do
		_nested_module_visit "$kver" "$dep"
	done
	_nested_order="$_nested_order $file"
}

nested_module_order() {
	local kver=$1 name
	shift
	command -v modinfo >/dev/null || nested_die "modinfo missing (apt-get install kmod)"
	_nested_seen=""
	_nested_order=""
	for name in "$@"; do
		_nested_module_visit "$kver" "$name"
	done
	echo "${_nested_order# }"
}

# busybox insmod hands the file to init_module(2) as it is, so compressed
# modules (Debian's newer kernels ship .ko.xz) are decompressed here.
nested_add_module() {
	local root=$1 file=$2 base

	base=$(basename "$file")
	mkdir -p "$root/lib/modules"
	case "$file" in
	*.ko)     cp "$file" "$root/lib/modules/$base" ;;
	*.ko.xz)  xz -dc "$file" >"$root/lib/modules/${base%.xz}" ;;
	*.ko.zst) zstd -qdc "$file" >"$root/lib/modules/${base%.zst}" ;;
	*.ko.gz)  gzip -dc "$file" >"$root/lib/modules/${base%.gz}" ;;
	*)        false ;;
	esac || nested_die "cannot add module $file (decompressor missing?)"
	base=${base%.xz}
	base=${base%.zst}
	base=${base%.gz}
	echo "$base" >>"$root/lib/modules/order"
}

nested_list_uses_l2() {
	grep -v '^[[:space:]]*#' "$1" | grep -qE '[$][{]?L2([^A-Za-z0-9_]|$)'
}

# The decompression libraries trapeze dlopen()s for bzImage payloads, by
# soname; each one installed is copied to the same path in the initramfs.
NESTED_DLOPEN_SONAMES="libz.so.1 liblzma.so.5 libzstd.so.1 liblz4.so.1"

nested_dlopen_libs() {
	local so path dir

	# The multiarch directories the dynamic loader searches (no ldconfig:
	# it lives in sbin, which a CI job's PATH may lack).
	for so in $NESTED_DLOPEN_SONAMES; do
		for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64; do
			path=$dir/$so
			if [ -e "$path" ]; then
				printf -- '-f\n%s:%s\n' "$(readlink -f "$path")" "$path"
				break
			fi
		done
	done
	return 0
}
