# A hardware breakpoint (Z1), a backtrace, finish (a temporary breakpoint
# on the return address), changing a variable, and kill (exit status 10).
# args: run -k build/guest-firmware/gdbtarget.elf
# file: build/guest-firmware/gdbtarget.elf
# status: 10
# expect gdb: Hardware assisted breakpoint 1 at 0x
# expect gdb: Breakpoint 1, gdb_tick (step=step@entry=1)
# expect gdb: #0  gdb_tick (step=step@entry=1) at guest-firmware/guests/gdbtarget.c
# expect gdb: #1  0x
# expect gdb: in main () at guest-firmware/guests/gdbtarget.c
# expect gdb: main () at guest-firmware/guests/gdbtarget.c
# expect gdb: $1 = 1
# expect gdb: $2 = 500
# expect gdb: [Inferior 1 (Remote target) killed]
# expect out: gdbtarget: start
# expect err: trapeze: killed from gdb; exit status 10
hbreak gdb_tick
continue
bt
finish
delete
print gdb_counter
set var gdb_counter = 500
print gdb_counter
kill
