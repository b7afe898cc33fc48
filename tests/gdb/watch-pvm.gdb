# kvm_pvm has no data breakpoints (measured: a watched variable written by
# CPL-0 code never stopped the guest): the stub refuses hardware watchpoints
# and says why; gdb's software watchpoints (single-stepping) still work.
# host: pvm
# args: run -k build/guest-firmware/gdbtarget.elf
# file: build/guest-firmware/gdbtarget.elf
# status: 10
# expect gdb: Hardware watchpoint 1: gdb_counter
# expect gdb: Could not insert hardware watchpoint 1.
# expect gdb: Watchpoint 2: gdb_counter
# expect gdb: Old value = 0
# expect gdb: New value = 1
# expect err: trapeze: gdb: watchpoints are not supported by this host's KVM
watch gdb_counter
python
try:
    gdb.execute("continue")
except gdb.error as e:
    print(e)
end
delete
set can-use-hw-watchpoints 0
watch gdb_counter
continue
kill
