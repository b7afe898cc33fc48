# The gdb test of issue 6: break at a symbol, continue, read a variable,
# single-step an instruction, read a register, detach; the guest then runs
# to its end by itself.
# args: run -k build/guest-firmware/gdbtarget.elf
# file: build/guest-firmware/gdbtarget.elf
# status: 85
# expect gdb: _start () at guest-firmware/lib/entry64.S
# expect gdb: * 1    Thread 1 (vCPU 0) _start ()
# expect gdb: Breakpoint 1 at 0x
# expect gdb: Breakpoint 1, gdb_tick (step=step@entry=1) at guest-firmware/guests/gdbtarget.c
# expect gdb: Breakpoint 1, gdb_tick (step=step@entry=1) at guest-firmware/guests/gdbtarget.c
# expect gdb: Breakpoint 1, gdb_tick (step=step@entry=1) at guest-firmware/guests/gdbtarget.c
# expect gdb: $1 = 2
# expect gdb: $2 = 1
# expect gdb: rip            0x
# expect gdb: <gdb_tick+
# expect gdb: [Inferior 1 (Remote target) detached]
# expect out: gdbtarget: start
# expect out: gdbtarget: counter=1000
# expect out: gdbtarget: user counter=1000
# expect err: trapeze: waiting for gdb on
# expect err: trapeze: gdb connected
# expect err: trapeze: gdb detached; the guest runs on
# expect err: exit status 85
info threads
break gdb_tick
continue
continue
continue
print gdb_counter
print step
stepi
info registers rip
detach
