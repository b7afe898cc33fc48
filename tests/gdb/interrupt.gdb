# Ctrl-C while the guest runs (a real-mode endless loop, no symbols): gdb
# gets SIGINT, the stub stops every vCPU and reports it; then a register
# read, a step and kill.
# args: run --flat 0x7c00 -k tests/boot/spin.bin
# interrupt: 0.5
# status: 10
# expect gdb: Program received signal SIGINT, Interrupt.
# expect gdb: cs             0x7c0
# expect gdb: [Inferior 1 (Remote target) killed]
# expect err: trapeze: killed from gdb
echo @@RUNNING\n
continue
info registers rip cs
stepi
kill
