#!/usr/bin/env python3
"""trapeze benchmarks: trapeze beside QEMU and the limit.

Runs each benchmark for every VMM in alternation (round 1: A B C, round 2:
A B C, ...), then prints a Markdown table of medians with min-max and the
ratios trapeze/QEMU and trapeze/limit, writes bench/results/latest.json and
plots bench/results/latest.png with gnuplot. bench/README.md explains every
method. Called by bench/run.sh, which builds the helpers first.

The limit is the bare-KVM program kvm_limit for exits, start-up and memory,
and the host reading the image itself (blk_limit) for virtio-blk; the Linux
boot has none. The Linux boot runs where a stock Linux can reach /init:
directly on hardware KVM, else inside the nested host (bench/linux/).

Benchmarks never fail on a timing: the exit status is non-zero only when a
run went wrong (a VMM crashed, a guest printed no result).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
FW = os.path.join(BUILD, "guest-firmware")
SPAWN = os.path.join(BUILD, "bench", "spawn")
LIMIT = os.path.join(BUILD, "bench", "kvm_limit")
BLK_LIMIT = os.path.join(BUILD, "bench", "blk_limit")
BLK_GUEST = os.path.join(BUILD, "bench", "bench_blk.elf")
LINUX_DIR = os.path.join(ROOT, "bench", "linux")
KERNEL = os.path.join(BUILD, "linux", "vmlinuz")
TRAPEZE = os.path.join(BUILD, "trapeze")
RESULTS = os.path.join(ROOT, "bench", "results")

BENCH_MAGIC = b"TRZBENCH"	# guest-firmware/lib/bench.h
BENCH_OK_STATUS = (0x30 << 1) | 1	# debug-exit BENCH_OK
BENCH_UNROLL = 16
BENCH_MAX_BATCHES = 64
RAM_MIB = 256
IDLE_MS = 150		# how long a bench_idle VM sits before its smaps is read
KILLED = 128 + 9	# spawn's status for a VMM it killed with SIGKILL
BLK_MAGIC = b"TRZBLKPR"	# guest-firmware/guests/bench_blk.c
BLK_PHASES = ("seq_read", "rand_read1", "rand_readq", "seq_write")
BOOT_VMMS = ("trapeze-auto", "trapeze-linux", "qemu-microvm", "qemu-q35")

QEMU = "qemu-system-x86_64"
QEMU_COMMON = ["-accel", "kvm", "-cpu", "host,-arch-capabilities",
	       "-m", "%dM" % RAM_MIB, "-display", "none", "-nodefaults", "-no-user-config",
	       "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=1"]

# The trapeze binary and the disk image the runs use: main() sets them.
PATHS = {"trapeze": TRAPEZE, "disk": "DISK.img"}


# VMM name -> (label in the table, argv builder(image, vcpus)).
def trapeze_argv(img, cpus):
	return [PATHS["trapeze"], "run", "-k", img, "-m", "%dM" % RAM_MIB, "-c", str(cpus)]

def qemu_argv(machine):
	def build(img, cpus):
		return [QEMU, "-M", machine] + QEMU_COMMON + ["-smp", str(cpus), "-kernel", img]
	return build

def limit_argv(img, cpus):
	return [LIMIT, "-m", str(RAM_MIB), "-c", str(cpus), img]

# virtio-blk: the disk as each VMM's first virtio-blk device. QEMU microvm
# cannot run the guest (its PCIe has no 0xCF8 ports), so QEMU is q35, with
# the modern device only and an I/O-port notify region like trapeze's.
def trapeze_blk_argv(img, cpus):
	return trapeze_argv(img, cpus) + ["-d", PATHS["disk"]]

def qemu_blk_argv(img, cpus):
	return qemu_argv("q35")(img, cpus) + [
		"-drive", "file=%s,if=none,id=d0,format=raw" % PATHS["disk"],
		"-device", "virtio-blk-pci,drive=d0,disable-legacy=on,modern-pio-notify=on"]

def blk_limit_argv(args):
	return [BLK_LIMIT, "-s", str(args.blk_seq_kib), "-q", str(args.blk_seq_qd),
		"-n", str(args.blk_rand_n), "-Q", str(args.blk_rand_qd), PATHS["disk"]]

VMMS = {
	"trapeze": ("trapeze", trapeze_argv),
	"qemu": ("QEMU microvm", qemu_argv("microvm")),
	"qemu-q35": ("QEMU q35", qemu_argv("q35")),
	"limit": ("limit", limit_argv),
}
BLK_VMMS = {"trapeze": trapeze_blk_argv, "qemu-q35": qemu_blk_argv}
# Linux boot: bench/linux/boot-loop.sh's VMM names -> table columns.
BOOT_COLUMN = {"trapeze-auto": "trapeze", "trapeze-linux": "trapeze-linux",
	       "qemu-microvm": "qemu", "qemu-q35": "qemu-q35"}
# virtio-blk from Linux (the same loop): VMM names -> table columns.
BLK_LINUX_VMMS = {"trapeze-blk": "trapeze", "qemu-q35-blk": "qemu-q35", "host-blk": "limit"}
PEER = "qemu"


def die(msg):
	print("bench: " + msg, file=sys.stderr)
	sys.exit(1)


def sh(argv):
	try:
		return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
	except OSError:
		return ""


def cpu_flags():
	with open("/proc/cpuinfo") as f:
		for line in f:
			if line.startswith("flags"):
				return set(line.split(":", 1)[1].split())
	return set()


def host_info():
	"""The machine and the kind of KVM it offers: numbers differ by orders of magnitude."""
	model, flags = "", cpu_flags()
	with open("/proc/cpuinfo") as f:
		for line in f:
			if line.startswith("model name"):
				model = line.split(":", 1)[1].strip()
				break
	if os.path.isdir("/sys/module/kvm_pvm"):
		kind = "kvm_pvm (software PVM backend, shadow paging, no VT-x/AMD-V)"
	elif "vmx" in flags or "svm" in flags:
		hw = "VT-x" if "vmx" in flags else "AMD-V"
		tdp = "EPT" if "ept" in flags else ("NPT" if "npt" in flags else "no EPT/NPT")
		if "hypervisor" in flags:
			kind = "nested %s (%s) under a hypervisor" % (hw, tdp)
		else:
			kind = "hardware %s (%s)" % (hw, tdp)
	else:
		kind = "unknown (no vmx/svm flag, no kvm_pvm)"
	mem_kb = 0
	with open("/proc/meminfo") as f:
		for line in f:
			if line.startswith("MemTotal:"):
				mem_kb = int(line.split()[1])
	qemu_version = sh([QEMU, "--version"]).splitlines()
	return {
		"cpu": model,
		"cpus": os.cpu_count(),
		"mem_mib": mem_kb // 1024,
		"kernel": platform.release(),
		"kvm": kind,
		"qemu": qemu_version[0] if qemu_version else "not installed",
		"commit": sh(["git", "-C", ROOT, "describe", "--always", "--dirty"]) or "unknown",
		"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
	}


def tsc_hz():
	out = sh([SPAWN, "-t"])
	m = re.match(r"tsc_hz=(\d+)", out)
	if not m:
		die("cannot calibrate the TSC: %r" % out)
	return int(m.group(1))


def patched_blk_guest(tmp, args):
	"""A copy of bench_blk with the sizes and queue depths of the command line."""
	with open(BLK_GUEST, "rb") as f:
		data = bytearray(f.read())
	at = data.find(BLK_MAGIC)
	if at < 0 or data.find(BLK_MAGIC, at + 1) >= 0:
		die("%s: no single %s parameter block" % (BLK_GUEST, BLK_MAGIC.decode()))
	at += len(BLK_MAGIC)
	words = (args.blk_seq_kib, args.blk_seq_qd, args.blk_rand_n, args.blk_rand_qd)
	data[at:at + 16] = b"".join(w.to_bytes(4, "little") for w in words)
	dst = os.path.join(tmp, "bench_blk.elf")
	with open(dst, "wb") as f:
		f.write(data)
	return dst


def make_disk(path, mib):
	"""The test image: the first 4 bytes of each 4 KiB block of the first half hold
	its number (the guest's and blk_limit's check); flushed, so no writeback of
	it runs during the measurements, and left in the page cache (warm)."""
	block = 4096
	data = bytearray(mib << 20)
	for b in range(len(data) // 2 // block):
		data[b * block:b * block + 4] = b.to_bytes(4, "little")
	with open(path, "wb") as f:
		f.write(data)
		f.flush()
		os.fsync(f.fileno())
	return path


def patched_image(tmp, name, n, batches):
	"""A copy of guest NAME doing N exits in BATCHES batches (bench.h's parameter block)."""
	src = os.path.join(FW, name + ".elf")
	with open(src, "rb") as f:
		data = bytearray(f.read())
	at = data.find(BENCH_MAGIC)
	if at < 0 or data.find(BENCH_MAGIC, at + 1) >= 0:
		die("%s: no single %s parameter block" % (src, BENCH_MAGIC.decode()))
	at += len(BENCH_MAGIC)
	data[at:at + 8] = n.to_bytes(4, "little") + batches.to_bytes(4, "little")
	dst = os.path.join(tmp, "%s-%d.elf" % (name, n))
	with open(dst, "wb") as f:
		f.write(data)
	return dst


def spawn(argv, tmp, idle=False, timeout=0):
	"""Runs one VMM under bench/spawn; returns (measurements, guest stdout, VMM stderr)."""
	out, err = os.path.join(tmp, "out.txt"), os.path.join(tmp, "err.txt")
	cmd = [SPAWN, "-o", out, "-e", err]
	if timeout:
		cmd += ["-T", str(timeout)]
	if idle:
		cmd += ["-i", str(IDLE_MS), "-r", str(RAM_MIB)]
	res = subprocess.run(cmd + ["--"] + argv, capture_output=True, text=True, check=False)
	if res.returncode != 0:
		raise RuntimeError("spawn failed: " + res.stderr.strip())
	m = {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", res.stdout)}
	with open(out, errors="replace") as f:
		stdout = f.read()
	with open(err, errors="replace") as f:
		stderr = f.read()
	return m, stdout, stderr


class Bench:
	"""One benchmark: a guest, the VMMs it runs on, and how a run becomes numbers."""

	def __init__(self, key, title, unit, vmms, metrics, peer=PEER):
		self.key, self.title, self.unit, self.vmms = key, title, unit, vmms
		self.metrics = metrics		# row key -> row title
		self.samples = {m: {v: [] for v in vmms} for m in metrics}
		self.wall = {v: [] for v in vmms}
		self.errors = []
		self.peer = peer		# the QEMU column the trapeze/QEMU ratio uses
		self.rows = {}			# row key -> (metric, {column: vmm}) when not 1:1
		self.notes = []			# lines printed above the table
		self.host_kvm = None		# where it ran, when not this host's KVM
		self.no_ratio = set()		# rows whose ratios mean nothing (shares)
		self.units = {}			# row key -> unit, where the default map has none
		self.mode = None		# linux_boot: "direct", "nested" or None (not run)

	def add(self, metric, vmm, value):
		self.samples.setdefault(metric, {}).setdefault(vmm, []).append(value)


def check_status(bench, vmm, m, stdout, stderr, want):
	if m.get("status") == want:
		return True
	bench.errors.append("%s on %s: status %s (want %d); stdout %r; stderr %r" %
			    (bench.key, vmm, m.get("status"), want, stdout[-200:], stderr[-300:]))
	return False


def run_exit_bench(bench, vmm, img, n, batches, hz, tmp):
	"""ns per exit from the guest's own rdtsc counts: the whole loop, and its fastest batch."""
	m, out, err = spawn(VMMS[vmm][1](img, 1), tmp)
	if not check_status(bench, vmm, m, out, err, BENCH_OK_STATUS):
		return
	r = re.search(r"n=0x([0-9a-f]+) batches=0x([0-9a-f]+) tsc=0x([0-9a-f]+)", out)
	b = re.search(r": batch((?: 0x[0-9a-f]+)+)", out)
	if not r or not b or int(r.group(1), 16) != n or int(r.group(2), 16) != batches:
		bench.errors.append("%s on %s: no result line in %r" % (bench.key, vmm, out[-300:]))
		return
	ticks = [int(t, 16) for t in b.group(1).split()]
	ns_per_tick = 1e9 / hz
	bench.add("ns_per_exit", vmm, int(r.group(3), 16) * ns_per_tick / n)
	bench.add("ns_per_exit_best", vmm, min(ticks) * ns_per_tick / (n // batches))
	bench.wall[vmm].append(m["exit_ns"])


def run_startup_bench(bench, vmm, img, tmp):
	m, out, err = spawn(VMMS[vmm][1](img, 1), tmp)
	if not check_status(bench, vmm, m, out, err, BENCH_OK_STATUS):
		return
	if m["first_ns"] < 0 or not out.startswith("!"):
		bench.errors.append("%s on %s: no marker byte (stdout %r)" % (bench.key, vmm, out[:80]))
		return
	bench.add("first_ms", vmm, m["first_ns"] / 1e6)
	bench.add("exit_ms", vmm, m["exit_ns"] / 1e6)
	bench.add("maxrss_mib", vmm, m["maxrss_kb"] / 1024)


def run_memory_bench(bench, vmm, img, cpus, tmp):
	m, out, err = spawn(VMMS[vmm][1](img, cpus), tmp, idle=True)
	if not check_status(bench, vmm, m, out, err, KILLED) or m["first_ns"] < 0:
		if m.get("first_ns", -1) < 0:
			bench.errors.append("%s on %s: the guest never wrote its marker" % (bench.key, vmm))
		return
	bench.add("rss_beyond_ram_%d" % cpus, vmm, (m["rss_kb"] - m["ram_rss_kb"]) / 1024)
	bench.add("anon_beyond_ram_%d" % cpus, vmm, (m["anon_kb"] - m["ram_anon_kb"]) / 1024)
	if cpus == 1:
		bench.add("ram_touched_1", vmm, m["ram_rss_kb"])


def run_blk_bench(bench, vmm, img, args, hz, tmp):
	"""MB/s and IOPS from the guest's rdtsc counts per phase, or blk_limit's ns."""
	if vmm == "limit":
		res = subprocess.run(blk_limit_argv(args), capture_output=True, text=True,
				     check=False)
		if res.returncode != 0:
			bench.errors.append("blk on limit: status %d: %s" %
					    (res.returncode, res.stderr.strip()[-300:]))
			return
		secs = {}
		for ph, n, nbytes, ns in re.findall(
				r"blk_limit: (\w+) n=0x([0-9a-f]+) qd=0x[0-9a-f]+ bytes=0x([0-9a-f]+) "
				r"ns=0x([0-9a-f]+)", res.stdout):
			secs[ph] = (int(n, 16), int(nbytes, 16), int(ns, 16) / 1e9, None)
	else:
		m, out, err = spawn(BLK_VMMS[vmm](img, 1), tmp, timeout=args.blk_timeout)
		if not check_status(bench, vmm, m, out, err, BENCH_OK_STATUS):
			return
		cal = re.search(r"bench_blk: calib polls=0x([0-9a-f]+) tsc=0x([0-9a-f]+)", out)
		notify = re.search(r"notify=(\w+)", out)
		secs = {}
		for ph, n, nbytes, tsc, polls, notes in re.findall(
				r"bench_blk: (\w+) n=0x([0-9a-f]+) qd=0x[0-9a-f]+ bytes=0x([0-9a-f]+) "
				r"tsc=0x([0-9a-f]+) polls=0x([0-9a-f]+) notifies=0x([0-9a-f]+)", out):
			# Waiting: the polls times what one poll costs (calib).
			wait = None
			if cal:
				wait = int(polls, 16) * int(cal.group(2), 16) / int(cal.group(1), 16)
				wait = min(1.0, wait / int(tsc, 16))
			secs[ph] = (int(n, 16), int(nbytes, 16), int(tsc, 16) / hz, wait)
			bench.add("notifies_" + ph, vmm, int(notes, 16) / int(n, 16))
		if cal:
			bench.add("poll_ns", vmm, int(cal.group(2), 16) * 1e9 / hz / int(cal.group(1), 16))
		if notify and notify.group(1) != "pio":
			bench.errors.append("blk on %s: the guest found no I/O-port notify" % vmm)
		bench.wall[vmm].append(m["exit_ns"])
	if set(secs) != set(BLK_PHASES):
		bench.errors.append("blk on %s: phases %s missing" %
				    (vmm, sorted(set(BLK_PHASES) - set(secs))))
		return
	for ph, (n, nbytes, sec, wait) in secs.items():
		if ph.startswith("seq"):
			bench.add(ph, vmm, nbytes / sec / 1e6)
		else:
			bench.add(ph, vmm, n / sec)
		if wait is not None:
			bench.add("wait_" + ph, vmm, 100 * wait)


def boot_mode(flags, requested):
	"""Where the Linux boot runs: ("direct"|"nested"|None, why)."""
	pvm = os.path.isdir("/sys/module/kvm_pvm")
	hw = ("vmx" in flags or "svm" in flags) and not pvm
	if requested == "direct" and not hw:
		if pvm:
			return None, ("not measured directly: on kvm_pvm a stock Linux never reaches "
				      "/init (PLATFORM.md: SYSCALL from CPL 3, int3, xrstor); "
				      "use --boot-host nested")
		return None, "not measured directly: this host has no vmx/svm"
	if requested == "direct" or (requested == "auto" and hw):
		return "direct", "directly on this host's hardware KVM"
	if pvm:
		why = ("in the nested host: QEMU TCG (AMD EPYC-Rome with SVM and NPT, 2 vCPUs) "
		       "running Debian's kernel with kvm-amd (L1), inside this kvm_pvm host, "
		       "since on kvm_pvm a stock Linux never reaches /init (PLATFORM.md); "
		       "every VMM runs inside L1, so absolute times are TCG's: compare ratios")
	else:
		why = ("in the nested host: QEMU TCG (AMD SVM, NPT) running Debian's kernel "
		       "with kvm-amd (L1); every VMM runs inside L1: compare ratios")
	return "nested", why


def blk_args_str(args, rand_n):
	return "-s %d -q %d -n %d -Q %d" % (args.blk_seq_kib, args.blk_seq_qd, rand_n,
					    args.blk_rand_qd)


def mkinitramfs(out, init, extra=()):
	res = subprocess.run([os.path.join(ROOT, "tests", "nested", "mkinitramfs.sh"),
			      "-o", out, "-i", os.path.join(LINUX_DIR, init)] + list(extra),
			     capture_output=True, text=True, check=False)
	return res.returncode == 0, res.stderr.strip()[-300:]


def run_linux_benches(boot, blkl, args, tmp, mode):
	"""bench/linux/boot-loop.sh, here or inside L1, for the Linux boot and the
	virtio-blk-from-Linux runs: samples per VMM and round."""
	errs = (boot or blkl).errors
	vmms = [v for v in BOOT_VMMS if boot and v in args.boot_vmms.split(",")]
	if blkl:
		vmms += list(BLK_LINUX_VMMS)
	rounds = args.boot_rounds
	blk_env = {"BLK_LIMIT": BLK_LIMIT, "BLK_MIB": str(args.blk_linux_mib),
		   "BLK_ARGS": blk_args_str(args, args.blk_linux_rand_n)}
	if mode == "direct":
		kernel = os.path.realpath(KERNEL)
		kver = os.path.basename(kernel).replace("vmlinuz-", "", 1)
		env = dict(os.environ, SPAWN=SPAWN, TRAPEZE=PATHS["trapeze"],
			   QEMU=shutil.which(QEMU) or QEMU, KERNEL=kernel,
			   INITRD=os.path.join(tmp, "boot.cpio.gz"),
			   BLK_INITRD=os.path.join(tmp, "blk.cpio.gz"), RAM_MIB=str(RAM_MIB), **blk_env)
		ok, why = mkinitramfs(env["INITRD"], "l2.init")
		if ok and blkl:
			ok, why = mkinitramfs(env["BLK_INITRD"], "l2-blk.init",
					      ["-b", BLK_LIMIT + ":/bin/blk_limit", "-k", kver,
					       "-m", "virtio_pci", "-m", "virtio_blk"])
		if not ok:
			errs.append("linux: building an initramfs failed: " + why)
			return
		cmd = ["sh", os.path.join(LINUX_DIR, "boot-loop.sh"), str(rounds),
		       str(args.boot_idle_ms), str(args.boot_timeout), os.path.join(tmp, "boot")] + vmms
	else:
		env = dict(os.environ, SPAWN=SPAWN, TRAPEZE=PATHS["trapeze"], **blk_env)
		cmd = [os.path.join(LINUX_DIR, "nested.sh"), os.path.join(BUILD, "bench", "nested"),
		       str(rounds), str(args.boot_idle_ms), str(args.boot_timeout), ",".join(vmms)]
	print("bench: linux: %d rounds of %s, %s" % (rounds, ", ".join(vmms), mode),
	      file=sys.stderr)
	res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, check=False)
	lines = res.stdout.splitlines()
	for line in lines:
		m = re.match(r"@@BENCH-BOOT vmm=([\w-]+) round=\d+ (.*)", line)
		b = re.match(r"@@BENCH-BLK vmm=([\w-]+) round=\d+ blk_limit: (\w+) n=0x([0-9a-f]+) "
			     r"qd=0x[0-9a-f]+ bytes=0x([0-9a-f]+) ns=0x([0-9a-f]+)", line)
		if m and boot and m.group(1) in BOOT_COLUMN:
			col = BOOT_COLUMN[m.group(1)]
			kv = {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", m.group(2))}
			boot.add("init_s", col, kv["marker_ns"] / 1e9)
			if kv.get("guest_uptime_s", -1) >= 0:
				boot.add("pre_kernel_s", col, kv["marker_ns"] / 1e9 - kv["guest_uptime_s"])
			boot.add("rss_after_boot", col, (kv["rss_kb"] - kv["ram_rss_kb"]) / 1024)
			boot.add("anon_after_boot", col, (kv["anon_kb"] - kv["ram_anon_kb"]) / 1024)
			boot.add("peak_rss_boot", col, kv["maxrss_kb"] / 1024)
			boot.wall[col] = boot.wall.get(col, []) + [kv["exit_ns"]]
		elif b and blkl and b.group(1) in BLK_LINUX_VMMS:
			col = BLK_LINUX_VMMS[b.group(1)]
			n, nbytes, sec = int(b.group(3), 16), int(b.group(4), 16), int(b.group(5), 16) / 1e9
			blkl.add(b.group(2), col, nbytes / sec / 1e6 if b.group(2).startswith("seq")
				 else n / sec)
		elif line.startswith("@@BENCH-BOOT-FAIL") or line.startswith("@@BENCH-SETUP result=FAIL"):
			errs.append("linux: " + line)
		elif line.startswith("@@BENCH-BOOT-LOG") or line.startswith("@@BENCH-LOG"):
			print("bench: " + line, file=sys.stderr)
	if res.returncode != 0 or "@@BENCH-BOOT-DONE" not in lines:
		errs.append("linux: the %s run did not finish (status %d)" % (mode, res.returncode))


def summary(values):
	if not values:
		return None
	return {"median": statistics.median(values), "min": min(values), "max": max(values),
		"n": len(values), "samples": values}


def fmt(v):
	if v is None:
		return "-"
	if v >= 100:
		return "{:,.0f}".format(v)
	if v >= 10:
		return "%.1f" % v
	return "%.2f" % v


def cell(s):
	if not s:
		return "-"
	return "%s (%s-%s)" % (fmt(s["median"]), fmt(s["min"]), fmt(s["max"]))


def ratio(a, b):
	if not a or not b or not b["median"]:
		return "-"
	return "%.2f" % (a["median"] / b["median"])


def row_cells(b, row):
	"""The summaries a table row shows, by column (a row may take its trapeze
	cell from another VMM key, e.g. the Linux boot's --boot=linux)."""
	metric, remap = b["rows"][row]
	cells = dict(b["summary"].get(metric, {}))
	for col, vmm in remap.items():
		cells[col] = b["summary"].get(metric, {}).get(vmm)
	return cells


def markdown(info, results, hz, rounds, columns):
	lines = ["# trapeze benchmarks", "",
		 "- date: %s, commit %s" % (info["date"], info["commit"]),
		 "- host: %s, %d CPUs, %d MiB, Linux %s" % (info["cpu"], info["cpus"],
							 info["mem_mib"], info["kernel"]),
		 "- host KVM: **%s**" % info["kvm"],
		 "- peer: %s; TSC %.3f GHz; median (min-max) of %s" %
		 (info["qemu"], hz / 1e9, ", ".join("%s %d rounds" % (b["key"], b["rounds"])
						    for b in results))]
	for b in results:
		lines += ["- %s: %s" % (b["key"], n) for n in b["notes"]]
	lines.append("")
	head = ["benchmark", "unit"] + [VMMS[v][0] for v in columns] + \
	       ["trapeze/QEMU", "trapeze/limit"]
	lines.append("| " + " | ".join(head) + " |")
	lines.append("|" + "---|" * len(head))
	for b in results:
		if b.get("skipped"):
			# Nothing measured: one row that says why, not a block of dashes.
			cells = ["%s: %s" % (b["title"], b["skipped"]), "-"] + ["-"] * len(columns)
			lines.append("| " + " | ".join(cells + ["-", "-"]) + " |")
			continue
		for row, title in b["metrics"].items():
			c = row_cells(b, row)
			cells = [title, b["units"][row]] + [cell(c.get(v)) for v in columns]
			if row in b["no_ratio"]:
				cells += ["-", "-"]
			else:
				cells += [ratio(c.get("trapeze"), c.get(b["peer"])),
					  ratio(c.get("trapeze"), c.get("limit"))]
			lines.append("| " + " | ".join(cells) + " |")
	return "\n".join(lines) + "\n"


def plot(results, columns, png):
	"""Panels of grouped bars (median, min-max error bars, clipped): exit cost,
	start-up, Linux boot, virtio-blk as a share of the host's own reads."""
	if not shutil.which("gnuplot"):
		print("bench: gnuplot not installed: no plot (apt-get install gnuplot-nox)",
		      file=sys.stderr)
		return False
	by_key = {b["key"]: b for b in results}

	def stat(key, metric, vmm):
		if key not in by_key:
			return None
		return by_key[key]["summary"].get(metric, {}).get(vmm)

	def pct_of_limit(key, metric, vmm):
		st, lim = stat(key, metric, vmm), stat(key, metric, "limit")
		if not st or not lim or not lim["median"]:
			return None
		return {k: 100 * st[k] / lim["median"] for k in ("median", "min", "max")}

	boot_cols = ["trapeze", "trapeze-linux", "qemu", "qemu-q35"]
	labels = {"trapeze-linux": "trapeze --boot=linux"}
	# (title, log scale, rows (bench, metric, x label), VMMs, stat function, labels)
	panels = [
		("Exit round trip (ns per exit, lower is better)", False,
		 [("exit_pio", "ns_per_exit", "PIO run"),
		  ("exit_pio", "ns_per_exit_best", "PIO best"),
		  ("exit_mmio", "ns_per_exit", "MMIO run"),
		  ("exit_mmio", "ns_per_exit_best", "MMIO best")], columns, stat, {}),
		("Start-up (ms from exec, lower is better)", True,
		 [("startup", "first_ms", "to first guest insn"),
		  ("startup", "exit_ms", "to VMM exit")], columns, stat, {}),
		("Linux boot (s from exec to /init, lower is better)", False,
		 [("linux_boot", "init_s", "to /init"),
		  ("linux_boot", "pre_kernel_s", "before the kernel's clock")],
		 boot_cols, stat, dict(labels, trapeze="trapeze --boot=auto")),
		("virtio-blk (% of the host reading the file itself, higher is better)", False,
		 [("blk", "seq_read", "seq rd"), ("blk", "rand_read1", "rand QD1"),
		  ("blk", "rand_readq", "rand QDn"), ("blk", "seq_write", "seq wr")],
		 ["trapeze", "qemu-q35"], pct_of_limit, {}),
	]

	# Only panels with data, only rows and VMMs with data.
	drawn = []
	for title, log, rows, vmms, fn, lab in panels:
		rows = [r for r in rows if r[0] in by_key and any(fn(r[0], r[1], v) for v in vmms)]
		used = [v for v in vmms if any(fn(k, m, v) for k, m, _ in rows)]
		if rows and used:
			drawn.append((title, log, rows, used, fn, lab))
	if not drawn:
		return False
	width = 550 * min(len(drawn), 2)
	height = 460 * ((len(drawn) + 1) // 2)
	with tempfile.TemporaryDirectory() as tmp:
		script = ["set terminal pngcairo size %d,%d font ',10'" % (width, height) if
			  "pngcairo" in sh(["gnuplot", "-e", "set terminal"]) else
			  "set terminal png size %d,%d" % (width, height),
			  "set output '%s'" % png, "set termoption noenhanced",
			  "set multiplot layout %d,%d" % ((len(drawn) + 1) // 2, min(len(drawn), 2)),
			  "set style data histogram",
			  "set style histogram errorbars gap 1 lw 1",
			  "set style fill solid 0.6 border -1",
			  "set key top left horizontal", "set offsets 0, 0, graph 0.12, 0",
			  "set grid ytics"]
		for i, (title, log, rows, used, fn, lab) in enumerate(drawn):
			dat = os.path.join(tmp, "p%d.dat" % i)
			top = 0
			with open(dat, "w") as f:
				for k, m, label in rows:
					f.write('"%s"' % label)
					for v in used:
						st = fn(k, m, v)
						f.write(" %g %g %g" % ((st["median"], st["min"], st["max"]) if st
								      else (0, 0, 0)))
						top = max(top, st["median"] if st else 0)
					f.write("\n")
			# Outliers (a busy host) would flatten the bars: clip the error bars.
			if log:
				script.append("set logscale y; set yrange [0.5:%g]" % (top * 4))
			else:
				script.append("unset logscale y; set yrange [0:%g]" % (top * 2))
			plots = ["'%s' using %d:%d:%d:xtic(1) title '%s'" %
				 (dat, 2 + 3 * j, 3 + 3 * j, 4 + 3 * j,
				  lab.get(v) or labels.get(v) or VMMS[v][0]) for j, v in enumerate(used)]
			script.append("set title '%s'" % title)
			script.append("plot " + ", ".join(plots))
		script.append("unset multiplot")
		res = subprocess.run(["gnuplot"], input="\n".join(script), text=True,
				     capture_output=True, check=False)
		if res.returncode != 0:
			print("bench: gnuplot failed: " + res.stderr.strip(), file=sys.stderr)
			return False
	return True


ALL = "exit_pio,exit_mmio,startup,memory,blk,linux_boot,blk_linux"


def parse_args():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--rounds", type=int, default=15,
			help="alternating rounds of exit_*, startup, memory (default 15)")
	ap.add_argument("--pio-n", type=int, default=65536, help="port-I/O exits per run")
	ap.add_argument("--mmio-n", type=int, default=32768, help="MMIO exits per run")
	ap.add_argument("--batches", type=int, default=16, help="timed batches per exit run")
	ap.add_argument("--cpus", default="1,2,4", help="vCPU counts for the memory benchmark")
	ap.add_argument("--only", default=ALL,
			help="comma-separated benchmarks to run (default %s)" % ALL)
	ap.add_argument("--no-q35", action="store_true",
			help="skip QEMU q35 in start-up and the Linux boot (slow SeaBIOS)")
	ap.add_argument("--blk-rounds", type=int, default=5, help="virtio-blk rounds (default 5)")
	ap.add_argument("--blk-mib", type=int, default=128,
			help="test image size in MiB: reads in the first half, writes in the second")
	ap.add_argument("--blk-seq-kib", type=int, default=256, help="sequential request size")
	ap.add_argument("--blk-seq-qd", type=int, default=4, help="sequential requests in flight")
	ap.add_argument("--blk-rand-n", type=int, default=4096, help="4 KiB random reads per phase")
	ap.add_argument("--blk-rand-qd", type=int, default=16,
			help="random reads in flight in the second random phase")
	ap.add_argument("--blk-dir", default=None,
			help="where the test image goes (default: a temporary directory in /tmp)")
	ap.add_argument("--blk-timeout", type=int, default=120, help="seconds a blk run may take")
	ap.add_argument("--boot-rounds", type=int, default=3,
			help="rounds of the Linux loop: linux_boot and blk_linux (default 3)")
	ap.add_argument("--boot-vmms", default=",".join(BOOT_VMMS),
			help="Linux boot VMMs (default %s)" % ",".join(BOOT_VMMS))
	ap.add_argument("--boot-idle-ms", type=int, default=1000,
			help="idle time after /init before the RSS is read (default 1000)")
	ap.add_argument("--boot-timeout", type=int, default=90,
			help="seconds one boot may take before it is killed (default 90)")
	ap.add_argument("--boot-host", choices=("auto", "direct", "nested"), default="auto",
			help="where the Linux boot and blk_linux run (default: directly with "
			"vmx/svm, else nested)")
	ap.add_argument("--blk-linux-mib", type=int, default=64,
			help="its image in MiB (default 64)")
	ap.add_argument("--blk-linux-rand-n", type=int, default=1024,
			help="its 4 KiB random reads per phase (default 1024)")
	ap.add_argument("--output", default=RESULTS, help="where latest.json and latest.png go")
	args = ap.parse_args()
	for qd in (args.blk_seq_qd, args.blk_rand_qd):
		if qd < 1 or qd > 64 or qd & (qd - 1):
			die("--blk-*-qd must be a power of 2 from 1 to 64")
	if args.blk_seq_kib < 4 or args.blk_seq_kib % 4 or \
	   args.blk_seq_kib * 1024 * args.blk_seq_qd > 4 << 20:
		die("--blk-seq-kib must be a multiple of 4, and x --blk-seq-qd at most 4 MiB")
	if args.blk_mib < 1 or args.blk_mib & (args.blk_mib - 1) or \
	   args.blk_seq_kib > args.blk_mib * 512:
		die("--blk-mib must be a power of 2 holding two sequential requests")
	if not 1 <= args.blk_rand_n <= 65536:
		die("--blk-rand-n must be 1 to 65536")
	unknown = set(args.boot_vmms.split(",")) - set(BOOT_VMMS)
	if unknown:
		die("unknown --boot-vmms: %s" % ", ".join(sorted(unknown)))
	if args.no_q35:
		args.boot_vmms = ",".join(v for v in args.boot_vmms.split(",") if v != "qemu-q35")
	unknown = set(args.only.split(",")) - set(ALL.split(","))
	if unknown:
		die("unknown --only: %s" % ", ".join(sorted(unknown)))
	return args


def make_benches(args, peers, startup_vmms, cpus, info):
	"""Every benchmark of the table, in table order."""
	pio = Bench("exit_pio", "port-I/O exit", "ns", peers,
		    {"ns_per_exit": "port-I/O exit (outb 0x80), whole run",
		     "ns_per_exit_best": "port-I/O exit (outb 0x80), fastest batch"})
	mmio = Bench("exit_mmio", "MMIO exit", "ns", peers,
		     {"ns_per_exit": "MMIO exit (unclaimed write), whole run",
		      "ns_per_exit_best": "MMIO exit (unclaimed write), fastest batch"})
	startup = Bench("startup", "start-up", "ms", startup_vmms,
			{"first_ms": "start-up: exec to first guest instruction",
			 "exit_ms": "start-up: exec to VMM exit (guest exits at once)",
			 "maxrss_mib": "start-up: peak RSS"})
	memory = Bench("memory", "memory", "MiB", peers, {})
	for c in cpus:
		memory.metrics["rss_beyond_ram_%d" % c] = "idle RSS beyond guest RAM, %d vCPU%s" % (
			c, "s" if c > 1 else "")
	for c in cpus:
		memory.metrics["anon_beyond_ram_%d" % c] = \
			"idle anonymous memory beyond guest RAM, %d vCPU%s" % (c, "s" if c > 1 else "")
	memory.metrics["ram_touched_1"] = "idle guest RAM resident, 1 vCPU"

	blk_vmms = ["trapeze"] + (["qemu-q35"] if "qemu" in peers else []) + ["limit"]
	sk, sq, rq = args.blk_seq_kib, args.blk_seq_qd, args.blk_rand_qd
	blk = Bench("blk", "virtio-blk", "MB/s", blk_vmms, {
		"seq_read": "virtio-blk sequential read, %d KiB x QD %d (higher is better)" % (sk, sq),
		"seq_write": "virtio-blk sequential write, %d KiB x QD %d (higher is better)" %
			     (sk, sq),
		"rand_read1": "virtio-blk 4 KiB random read, QD 1 (higher is better)",
		"rand_readq": "virtio-blk 4 KiB random read, QD %d (higher is better)" % rq,
		"wait_seq_read": "virtio-blk seq read: guest waiting for the device",
		"wait_seq_write": "virtio-blk seq write: guest waiting for the device",
		"wait_rand_read1": "virtio-blk random read QD 1: guest waiting for the device",
		"wait_rand_readq": "virtio-blk random read QD %d: guest waiting for the device" % rq,
	}, peer="qemu-q35")
	blk.no_ratio = {m for m in blk.metrics if m.startswith("wait_")}
	blk.notes = ["limit = the host's own pread/pwrite of the same requests on the same "
		     "file (blk_limit), page cache warm as for the VMMs; QEMU = q35 "
		     "virtio-blk-pci (microvm's PCIe has no 0xCF8 ports for the guest)"]

	boot = Bench("linux_boot", "Linux boot", "s", [], {
		"init_auto": "Linux boot: exec to /init, trapeze --boot=auto",
		"init_linux": "Linux boot: exec to /init, trapeze --boot=linux",
		"pre_auto": "Linux boot: before the kernel's clock starts, --boot=auto",
		"pre_linux": "Linux boot: before the kernel's clock starts, --boot=linux",
		"rss_auto": "idle RSS beyond guest RAM after Linux boot, --boot=auto",
		"rss_linux": "idle RSS beyond guest RAM after Linux boot, --boot=linux",
		"anon_auto": "idle anonymous memory beyond guest RAM after Linux boot, --boot=auto",
		"peak_auto": "peak RSS during Linux boot (guest RAM included), --boot=auto",
		"peak_linux": "peak RSS during Linux boot (guest RAM included), --boot=linux",
	})
	lin = {"trapeze": "trapeze-linux"}
	boot.rows = {"init_auto": ("init_s", {}), "init_linux": ("init_s", lin),
		     "pre_auto": ("pre_kernel_s", {}), "pre_linux": ("pre_kernel_s", lin),
		     "rss_auto": ("rss_after_boot", {}), "rss_linux": ("rss_after_boot", lin),
		     "anon_auto": ("anon_after_boot", {}),
		     "peak_auto": ("peak_rss_boot", {}), "peak_linux": ("peak_rss_boot", lin)}
	boot.units = {"init_auto": "s", "init_linux": "s", "pre_auto": "s", "pre_linux": "s"}
	boot.mode, why = boot_mode(cpu_flags(), args.boot_host)
	boot.host_kvm = why
	boot.notes = ["measured %s; the kernel is Debian's bzImage (%s) with a busybox "
		      "initramfs whose /init prints a marker first; QEMU boots the bzImage "
		      "through its in-guest decompressor in every row" %
		      (why, os.path.basename(os.path.realpath(KERNEL)))]

	blkl = Bench("blk_linux", "virtio-blk from Linux", "MB/s", ["trapeze", "qemu-q35", "limit"], {
		"seq_read": "Linux O_DIRECT sequential read, %d KiB x QD %d" % (sk, sq),
		"seq_write": "Linux O_DIRECT sequential write, %d KiB x QD %d" % (sk, sq),
		"rand_read1": "Linux O_DIRECT 4 KiB random read, QD 1",
		"rand_readq": "Linux O_DIRECT 4 KiB random read, QD %d" % rq,
	}, peer="qemu-q35")
	blkl.mode, blkl.host_kvm = boot.mode, why
	blkl.notes = ["measured %s; Debian's virtio_blk in the guest runs "
		      "blk_limit -d /dev/vda (O_DIRECT, like dd iflag=direct) on a %d MiB "
		      "image; limit = blk_limit on the same file outside the guest (in the "
		      "nested host: L1's tmpfs)" %
		      ("in the nested SVM host under QEMU TCG, like linux_boot"
		       if boot.mode == "nested" else "directly on this host's hardware KVM",
		       args.blk_linux_mib)]
	return [b for b in (pio, mmio, startup, memory, blk, boot, blkl)
		if b.key in args.only.split(",")]


def main():
	args = parse_args()
	only = set(args.only.split(","))
	for path in (SPAWN, LIMIT, TRAPEZE) + ((BLK_LIMIT, BLK_GUEST) if "blk" in only else ()):
		if not os.access(path, os.R_OK):
			die("%s is missing: run bench/run.sh (or make bench)" % path)
	if not os.access("/dev/kvm", os.R_OK | os.W_OK):
		die("/dev/kvm is not usable here: nothing to measure")
	peers = ["trapeze", "limit"]
	if shutil.which(QEMU):
		peers.insert(1, "qemu")
	else:
		print("bench: %s not found: QEMU columns left empty" % QEMU, file=sys.stderr)
	startup_vmms = peers + (["qemu-q35"] if "qemu" in peers and not args.no_q35 else [])
	cpus = [int(c) for c in args.cpus.split(",")]
	if not 1 <= args.batches <= BENCH_MAX_BATCHES:
		die("--batches must be 1 to %d" % BENCH_MAX_BATCHES)
	for n in (args.pio_n, args.mmio_n):
		if n <= 0 or n % (BENCH_UNROLL * args.batches):
			die("exit counts must be positive multiples of %d (16 x --batches)" %
			    (BENCH_UNROLL * args.batches))

	info = host_info()
	hz = tsc_hz()
	print("bench: %s; host KVM: %s; TSC %.3f GHz" % (info["cpu"], info["kvm"], hz / 1e9),
	      file=sys.stderr)
	benches = make_benches(args, peers, startup_vmms, cpus, info)
	by_key = {b.key: b for b in benches}
	boot, blkl = by_key.get("linux_boot"), by_key.get("blk_linux")
	for b in (boot, blkl):
		if b and b.mode == "nested" and not shutil.which(QEMU):
			b.mode, b.host_kvm = None, "not measured: the nested host needs QEMU"
		if b and not os.path.exists(KERNEL):
			b.mode, b.host_kvm = None, "not measured: %s is missing (make linux-kernel)" % \
				os.path.relpath(KERNEL, ROOT)
		if b and not b.mode:
			b.notes = [b.host_kvm]
			print("bench: %s: %s" % (b.key, b.host_kvm), file=sys.stderr)

	commands = {v: [os.path.relpath(a, ROOT) if a.startswith("/") else a
			for a in VMMS[v][1]("GUEST.elf", 1)] for v in VMMS}
	with tempfile.TemporaryDirectory(prefix="trapeze-bench-") as tmp:
		# Snapshots: others may rebuild build/ while this runs.
		PATHS["trapeze"] = shutil.copy2(TRAPEZE, os.path.join(tmp, "trapeze"))
		pio_img = patched_image(tmp, "bench_pio", args.pio_n, args.batches)
		mmio_img = patched_image(tmp, "bench_mmio", args.mmio_n, args.batches)
		exit_img = shutil.copy2(os.path.join(FW, "bench_exit.elf"), tmp)
		idle_img = shutil.copy2(os.path.join(FW, "bench_idle.elf"), tmp)
		small = [b for b in benches if b.key in ("exit_pio", "exit_mmio", "startup", "memory")]
		for rnd in range(args.rounds if small else 0):
			print("bench: round %d/%d" % (rnd + 1, args.rounds), file=sys.stderr)
			for b in small:
				for vmm in b.vmms:
					if b.key == "exit_pio":
						run_exit_bench(b, vmm, pio_img, args.pio_n, args.batches,
							       hz, tmp)
					elif b.key == "exit_mmio":
						run_exit_bench(b, vmm, mmio_img, args.mmio_n,
							       args.batches, hz, tmp)
					elif b.key == "startup":
						run_startup_bench(b, vmm, exit_img, tmp)
					else:
						for c in cpus:
							run_memory_bench(b, vmm, idle_img, c, tmp)
		if "blk" in by_key:
			b = by_key["blk"]
			blk_tmp = tempfile.mkdtemp(prefix="trapeze-blk-", dir=args.blk_dir or tmp)
			PATHS["disk"] = make_disk(os.path.join(blk_tmp, "disk.img"), args.blk_mib)
			blk_img = patched_blk_guest(tmp, args)
			for rnd in range(args.blk_rounds):
				print("bench: blk round %d/%d" % (rnd + 1, args.blk_rounds),
				      file=sys.stderr)
				for vmm in b.vmms:
					run_blk_bench(b, vmm, blk_img, args, hz, tmp)
			shutil.rmtree(blk_tmp, ignore_errors=True)
			# The commands as a reader would type them: no temporary paths.
			snap = dict(PATHS)
			PATHS.update(trapeze=TRAPEZE, disk="DISK.img")
			commands["blk"] = {v: [os.path.relpath(a, ROOT) if a.startswith(ROOT) else a
					       for a in f("bench_blk.elf", 1)]
					   for v, f in BLK_VMMS.items()}
			commands["blk"]["limit"] = [os.path.relpath(a, ROOT) if a.startswith(ROOT)
						    else a for a in blk_limit_argv(args)]
			PATHS.update(snap)
		linux = [b for b in (boot, blkl) if b and b.mode]
		if linux:
			run_linux_benches(boot if boot in linux else None,
					  blkl if blkl in linux else None, args, tmp, linux[0].mode)
			commands["linux"] = "bench/linux/boot-loop.sh (%s)" % linux[0].mode

	rounds = {"blk": args.blk_rounds, "linux_boot": args.boot_rounds,
		  "blk_linux": args.boot_rounds}
	results = []
	for b in benches:
		rows = {r: b.rows.get(r, (r, {})) for r in b.metrics}
		summ = {m: {v: summary(vals) for v, vals in row.items()} for m, row in b.samples.items()}
		summ = {m: {v: s for v, s in row.items() if s} for m, row in summ.items()}
		units = {r: b.units[r] if r in b.units else
			 {"ns_per_exit": "ns", "ns_per_exit_best": "ns", "first_ms": "ms",
			  "exit_ms": "ms", "maxrss_mib": "MiB", "ram_touched_1": "KiB",
			  "seq_read": "MB/s", "seq_write": "MB/s", "rand_read1": "IOPS",
			  "rand_readq": "IOPS"}.get(r, "%" if r.startswith("wait_") else "MiB")
			 for r in b.metrics}
		skipped = None
		if b.key in ("linux_boot", "blk_linux") and not b.mode:
			skipped = b.host_kvm
		results.append({"key": b.key, "title": b.title, "skipped": skipped,
				"metrics": b.metrics, "rows": rows, "units": units,
				"summary": summ, "errors": b.errors, "peer": b.peer,
				"no_ratio": sorted(b.no_ratio), "notes": b.notes,
				"host_kvm": b.host_kvm or info["kvm"],
				"rounds": rounds.get(b.key, args.rounds),
				"wall_ns": {v: summary(w) for v, w in b.wall.items() if w}})
	used = {v for r in results for row in r["summary"].values() for v in row}
	columns = [v for v in ("trapeze", "qemu", "qemu-q35", "limit") if v in used] or ["trapeze"]
	table = markdown(info, results, hz, args.rounds, columns)
	print(table)

	os.makedirs(args.output, exist_ok=True)
	doc = {"host": info, "tsc_hz": hz, "rounds": args.rounds, "ram_mib": RAM_MIB,
	       "pio_n": args.pio_n, "mmio_n": args.mmio_n, "idle_ms": IDLE_MS,
	       "batches": args.batches,
	       "blk": {"mib": args.blk_mib, "seq_kib": args.blk_seq_kib, "seq_qd": args.blk_seq_qd,
		       "rand_n": args.blk_rand_n, "rand_qd": args.blk_rand_qd},
	       "boot": {"idle_ms": args.boot_idle_ms, "timeout_s": args.boot_timeout},
	       "blk_linux": {"mib": args.blk_linux_mib, "rand_n": args.blk_linux_rand_n},
	       "commands": {v: c for v, c in commands.items() if v in columns or
			    v in ("blk", "linux")},
	       "results": results, "table_md": table}
	with open(os.path.join(args.output, "latest.json"), "w") as f:
		json.dump(doc, f, indent=1)
		f.write("\n")
	png = os.path.join(args.output, "latest.png")
	if plot(results, columns, png):
		print("bench: wrote %s and %s" % (os.path.join(args.output, "latest.json"), png),
		      file=sys.stderr)
	errors = [e for r in results for e in r["errors"]]
	for e in errors:
		print("bench: error: " + e, file=sys.stderr)
	return 1 if errors else 0


if __name__ == "__main__":
	sys.exit(main())
