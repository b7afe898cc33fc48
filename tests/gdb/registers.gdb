# Registers and memory: the whole register file from target.xml, writing a
# general register, a refused segment-selector write, memory by virtual
# address, an address that is not mapped.
# args: run -k build/guest-firmware/gdbtarget.elf
# file: build/guest-firmware/gdbtarget.elf
# status: 10
# expect gdb: rax            0x0
# expect gdb: rip            0x100000            0x100000 <_start>
# expect gdb: eflags         0x2
# expect gdb: cs             0x8
# expect gdb: ss             0x18
# expect gdb: fs_base        0x0
# expect gdb: $1 = 0x1234
# expect gdb: Could not write register "cs"
# expect gdb: $2 = 8
# expect gdb: 0x100000 <_start>:	0x48	0x8d	0x25
# expect gdb: Cannot access memory at address 0x800000000000
# expect gdb: $3 = 77
# expect gdb: mxcsr
# expect err: trapeze: gdb: changing segment selectors is not supported
info registers
set $rax = 0x1234
print/x $rax
python
# Commands expected to fail: a batch script would stop at the first error.
for cmd in ["set $cs = 0x10", "print $cs", "x/4xb 0x100000", "x/x 0x800000000000"]:
    try:
        gdb.execute(cmd)
    except gdb.error as e:
        print(e)
end
set var gdb_counter = 77
print gdb_counter
info registers mxcsr
kill
