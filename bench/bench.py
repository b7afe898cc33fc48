#!/usr/bin/env python3
"""trapeze benchmarks: trapeze beside QEMU and the bare-KVM limit.

Runs each benchmark for every VMM in alternation (round 1: A B C, round 2:
A B C, ...), then prints a Markdown table of medians with min-max and the
ratios trapeze/QEMU and trapeze/limit, writes bench/results/latest.json and
plots bench/results/latest.png with gnuplot. bench/README.md explains every
method. Called by bench/run.sh, which builds the helpers first.

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
TRAPEZE = os.path.join(BUILD, "trapeze")
RESULTS = os.path.join(ROOT, "bench", "results")

BENCH_MAGIC = b"TRZBENCH"	# guest-firmware/lib/bench.h
BENCH_OK_STATUS = (0x30 << 1) | 1	# debug-exit BENCH_OK
BENCH_UNROLL = 16
BENCH_MAX_BATCHES = 64
RAM_MIB = 256
IDLE_MS = 150		# how long a bench_idle VM sits before its smaps is read
KILLED = 128 + 9	# spawn's status for a VMM it killed with SIGKILL

QEMU = "qemu-system-x86_64"
QEMU_COMMON = ["-accel", "kvm", "-cpu", "host,-arch-capabilities",
	       "-m", "%dM" % RAM_MIB, "-display", "none", "-nodefaults", "-no-user-config",
	       "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=1"]

# The trapeze binary the runs use: main() points it at a snapshot.
PATHS = {"trapeze": TRAPEZE}


# VMM name -> (label in the table, argv builder(image, vcpus)).
def trapeze_argv(img, cpus):
	return [PATHS["trapeze"], "run", "-k", img, "-m", "%dM" % RAM_MIB, "-c", str(cpus)]

def qemu_argv(machine):
	def build(img, cpus):
		return [QEMU, "-M", machine] + QEMU_COMMON + ["-smp", str(cpus), "-kernel", img]
	return build

def limit_argv(img, cpus):
	return [LIMIT, "-m", str(RAM_MIB), "-c", str(cpus), img]

VMMS = {
	"trapeze": ("trapeze", trapeze_argv),
	"qemu": ("QEMU microvm", qemu_argv("microvm")),
	"qemu-q35": ("QEMU q35", qemu_argv("q35")),
	"limit": ("kvm_limit", limit_argv),
}
PEER = "qemu"


def die(msg):
	print("bench: " + msg, file=sys.stderr)
	sys.exit(1)


def sh(argv):
	try:
		return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
	except OSError:
		return ""


def host_info():
	"""The machine and the kind of KVM it offers: numbers differ by orders of magnitude."""
	model, flags = "", set()
	with open("/proc/cpuinfo") as f:
		for line in f:
			if line.startswith("model name") and not model:
				model = line.split(":", 1)[1].strip()
			elif line.startswith("flags") and not flags:
				flags = set(line.split(":", 1)[1].split())
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


def spawn(argv, tmp, idle=False):
	"""Runs one VMM under bench/spawn; returns (measurements, guest stdout, VMM stderr)."""
	out, err = os.path.join(tmp, "out.txt"), os.path.join(tmp, "err.txt")
	cmd = [SPAWN, "-o", out, "-e", err]
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

	def __init__(self, key, title, unit, vmms, metrics):
		self.key, self.title, self.unit, self.vmms = key, title, unit, vmms
		self.metrics = metrics		# metric key -> row title
		self.samples = {m: {v: [] for v in vmms} for m in metrics}
		self.wall = {v: [] for v in vmms}
		self.errors = []

	def add(self, metric, vmm, value):
		self.samples[metric][vmm].append(value)


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


def markdown(info, results, hz, rounds, columns):
	lines = ["# trapeze benchmarks", "",
		 "- date: %s, commit %s" % (info["date"], info["commit"]),
		 "- host: %s, %d CPUs, %d MiB, Linux %s" % (info["cpu"], info["cpus"],
							 info["mem_mib"], info["kernel"]),
		 "- host KVM: **%s**" % info["kvm"],
		 "- peer: %s; TSC %.3f GHz; %d rounds, median (min-max)" %
		 (info["qemu"], hz / 1e9, rounds), ""]
	head = ["benchmark", "unit"] + [VMMS[v][0] for v in columns] + \
	       ["trapeze/QEMU", "trapeze/limit"]
	lines.append("| " + " | ".join(head) + " |")
	lines.append("|" + "---|" * len(head))
	for b in results:
		for metric, title in b["metrics"].items():
			row = b["summary"][metric]
			cells = [title, b["units"][metric]] + [cell(row.get(v)) for v in columns]
			cells += [ratio(row.get("trapeze"), row.get(PEER)),
				  ratio(row.get("trapeze"), row.get("limit"))]
			lines.append("| " + " | ".join(cells) + " |")
	return "\n".join(lines) + "\n"


def plot(results, columns, png):
	"""Two panels of grouped bars (median, min-max error bars, clipped): exit cost, start-up."""
	if not shutil.which("gnuplot"):
		print("bench: gnuplot not installed: no plot (apt-get install gnuplot-nox)",
		      file=sys.stderr)
		return False
	by_key = {b["key"]: b for b in results}
	panels = [
		("Exit round trip (ns per exit, lower is better)", False,
		 [("exit_pio", "ns_per_exit", "PIO run"),
		  ("exit_pio", "ns_per_exit_best", "PIO best"),
		  ("exit_mmio", "ns_per_exit", "MMIO run"),
		  ("exit_mmio", "ns_per_exit_best", "MMIO best")]),
		("Start-up (ms from exec, lower is better)", True,
		 [("startup", "first_ms", "to first guest insn"),
		  ("startup", "exit_ms", "to VMM exit")]),
	]

	def stat(key, metric, vmm):
		return by_key[key]["summary"][metric].get(vmm) if key in by_key else None

	# Only panels with data, only rows and VMMs with data.
	drawn = []
	for title, log, rows in panels:
		rows = [r for r in rows if r[0] in by_key]
		used = [v for v in columns if any(stat(k, m, v) for k, m, _ in rows)]
		if rows and used:
			drawn.append((title, log, rows, used))
	if not drawn:
		return False
	with tempfile.TemporaryDirectory() as tmp:
		script = ["set terminal pngcairo size %d,460 font ',10'" % (550 * len(drawn)) if
			  "pngcairo" in sh(["gnuplot", "-e", "set terminal"]) else
			  "set terminal png size %d,460" % (550 * len(drawn)),
			  "set output '%s'" % png, "set termoption noenhanced",
			  "set multiplot layout 1,%d" % len(drawn),
			  "set style data histogram",
			  "set style histogram errorbars gap 1 lw 1",
			  "set style fill solid 0.6 border -1",
			  "set key top left horizontal", "set offsets 0, 0, graph 0.12, 0",
			  "set grid ytics"]
		for i, (title, log, rows, used) in enumerate(drawn):
			dat = os.path.join(tmp, "p%d.dat" % i)
			top = 0
			with open(dat, "w") as f:
				for k, m, label in rows:
					f.write('"%s"' % label)
					for v in used:
						st = stat(k, m, v)
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
				 (dat, 2 + 3 * j, 3 + 3 * j, 4 + 3 * j, VMMS[v][0]) for j, v in enumerate(used)]
			script.append("set title '%s'" % title)
			script.append("plot " + ", ".join(plots))
		script.append("unset multiplot")
		res = subprocess.run(["gnuplot"], input="\n".join(script), text=True,
				     capture_output=True, check=False)
		if res.returncode != 0:
			print("bench: gnuplot failed: " + res.stderr.strip(), file=sys.stderr)
			return False
	return True


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--rounds", type=int, default=15, help="alternating rounds (default 15)")
	ap.add_argument("--pio-n", type=int, default=65536, help="port-I/O exits per run")
	ap.add_argument("--mmio-n", type=int, default=32768, help="MMIO exits per run")
	ap.add_argument("--batches", type=int, default=16, help="timed batches per exit run")
	ap.add_argument("--cpus", default="1,2,4", help="vCPU counts for the memory benchmark")
	ap.add_argument("--only", default="exit_pio,exit_mmio,startup,memory",
			help="comma-separated benchmarks to run")
	ap.add_argument("--no-q35", action="store_true", help="skip QEMU q35 (slow SeaBIOS start-up)")
	ap.add_argument("--output", default=RESULTS, help="where latest.json and latest.png go")
	args = ap.parse_args()

	for path in (SPAWN, LIMIT, TRAPEZE):
		if not os.access(path, os.X_OK):
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
	only = set(args.only.split(","))
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

	benches = []
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
	memory.samples = {m: {v: [] for v in peers} for m in memory.metrics}
	units = {"ns_per_exit": "ns", "ns_per_exit_best": "ns", "first_ms": "ms", "exit_ms": "ms",
		 "maxrss_mib": "MiB", "ram_touched_1": "KiB"}
	for b in (pio, mmio, startup, memory):
		if b.key in only:
			benches.append(b)

	commands = {v: [os.path.relpath(a, ROOT) if a.startswith("/") else a
			for a in VMMS[v][1]("GUEST.elf", 1)] for v in VMMS}
	with tempfile.TemporaryDirectory(prefix="trapeze-bench-") as tmp:
		# Snapshots: others may rebuild build/ while this runs.
		PATHS["trapeze"] = shutil.copy2(TRAPEZE, os.path.join(tmp, "trapeze"))
		pio_img = patched_image(tmp, "bench_pio", args.pio_n, args.batches)
		mmio_img = patched_image(tmp, "bench_mmio", args.mmio_n, args.batches)
		exit_img = shutil.copy2(os.path.join(FW, "bench_exit.elf"), tmp)
		idle_img = shutil.copy2(os.path.join(FW, "bench_idle.elf"), tmp)
		for rnd in range(args.rounds):
			print("bench: round %d/%d" % (rnd + 1, args.rounds), file=sys.stderr)
			for b in benches:
				for vmm in b.vmms:
					if b is pio:
						run_exit_bench(b, vmm, pio_img, args.pio_n, args.batches,
							       hz, tmp)
					elif b is mmio:
						run_exit_bench(b, vmm, mmio_img, args.mmio_n,
							       args.batches, hz, tmp)
					elif b is startup:
						run_startup_bench(b, vmm, exit_img, tmp)
					else:
						for c in cpus:
							run_memory_bench(b, vmm, idle_img, c, tmp)

	results = []
	for b in benches:
		summ = {m: {v: summary(b.samples[m][v]) for v in b.vmms} for m in b.metrics}
		summ = {m: {v: s for v, s in row.items() if s} for m, row in summ.items()}
		results.append({"key": b.key, "metrics": b.metrics,
				"units": {m: units.get(m, "MiB") for m in b.metrics},
				"summary": summ, "errors": b.errors,
				"wall_ns": {v: summary(w) for v, w in b.wall.items() if w}})
	columns = [v for v in ("trapeze", "qemu", "qemu-q35", "limit") if v in startup_vmms or v in peers]
	table = markdown(info, results, hz, args.rounds, columns)
	print(table)

	os.makedirs(args.output, exist_ok=True)
	doc = {"host": info, "tsc_hz": hz, "rounds": args.rounds, "ram_mib": RAM_MIB,
	       "pio_n": args.pio_n, "mmio_n": args.mmio_n, "idle_ms": IDLE_MS,
	       "batches": args.batches, "commands": commands,
	       "results": results, "table_md": table}
	doc["commands"] = {v: c for v, c in commands.items() if v in columns}
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
