# A write watchpoint in a debug register (Z2) on hardware-semantics KVM.
# host: hw
# args: run -k build/guest-firmware/gdbtarget.elf
# file: build/guest-firmware/gdbtarget.elf
# status: 10
# expect gdb: Hardware watchpoint 1: gdb_counter
# expect gdb: Old value = 0
# expect gdb: New value = 1
# expect gdb: Old value = 1
# expect gdb: New value = 2
watch gdb_counter
continue
continue
kill
