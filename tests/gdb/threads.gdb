# Two vCPUs are two gdb threads: the second waits for its start-up IPI in
# real mode; monitor commands run on the selected thread; a breakpoint stops
# both vCPUs and reports the one that hit it.
# args: run -c 2 -k build/guest-firmware/gdbtarget.elf
# file: build/guest-firmware/gdbtarget.elf
# status: 85
# expect gdb: Thread 1 (vCPU 0)
# expect gdb: Thread 2 (vCPU 1)
# expect gdb: [Switching to thread 2 (Thread 2)]
# expect gdb: rip            0xfff0
# expect gdb: mode: real mode, CPL 0, paging off
# expect gdb: [Switching to thread 1 (Thread 1)]
# expect gdb: walk 0x100000: 4-level paging
# expect gdb: = guest-physical 0x100000 (2 MiB page, writable, user, executable)
# expect gdb: pio  0x3f8: serial (COM1)
# expect gdb: Thread 1 hit Breakpoint 1, gdb_tick
# expect gdb: [Inferior 1 (Remote target) detached]
# expect out: gdbtarget: user counter=1000
info threads
thread 2
info registers rip
monitor sregs
thread 1
monitor walk 0x100000
monitor dev 0x3f8
break gdb_tick
continue
detach
