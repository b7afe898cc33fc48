# stepi over port output: the `out` exits to trapeze first; the step must
# still end right after it (kvm_pvm moves RIP past an `out` before it exits
# and gives no single-step trap for it; the stub ends the step there).
# args: run -k build/guest-firmware/gdbtarget.elf
# file: build/guest-firmware/gdbtarget.elf
# status: 10
# expect gdb: Breakpoint 1, 
# expect gdb: stepi over out: exact
# expect gdb: stepi over out: exact
# expect gdb: [Inferior 1 (Remote target) killed]
break *rt_puts
continue
delete
python
def step_over_outs(times):
    done = 0
    for _ in range(200):
        pc = int(gdb.parse_and_eval("$pc"))
        insn = gdb.selected_frame().architecture().disassemble(pc)[0]
        if insn["asm"].startswith("out"):
            gdb.execute("stepi", to_string=True)
            new = int(gdb.parse_and_eval("$pc"))
            want = pc + insn["length"]
            print("stepi over out: " + ("exact" if new == want else
                  "ran from 0x%x to 0x%x, not 0x%x" % (pc, new, want)))
            done += 1
            if done == times:
                return
        else:
            gdb.execute("stepi", to_string=True)
    print("no out within 200 instructions")
step_over_outs(2)
end
kill
