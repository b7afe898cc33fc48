# Tiny guests and their runtime (guest-firmware/README.md). Included by the
# top-level Makefile; every variable here starts with FW_ so none clashes.
# Freestanding code linked at 1 MiB: ELF64 guests, one ELF32 guest, and a
# flat real-mode guest (.elf for objdump, .bin for `trapeze run --flat`),
# and the benchmark guests: ELF32 with a PVH note, for trapeze and QEMU alike.

FW_SRC      := guest-firmware
FW_OUT      := $(BUILD)/guest-firmware
FW_CC       := $(CC)
FW_LD       := ld
FW_OBJCOPY  := objcopy

FW_CFLAGS   := -O2 -g -std=c11 -ffreestanding -nostdlib -static -fno-pic \
	       -no-pie -fno-stack-protector -mno-red-zone -mgeneral-regs-only \
	       -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	       -fcf-protection=none -Wall -Wextra -Werror -I$(FW_SRC)/lib -MMD -MP
FW_CFLAGS64 := $(FW_CFLAGS) -m64
FW_CFLAGS32 := $(FW_CFLAGS) -m32 -march=i686
FW_CFLAGS16 := $(FW_CFLAGS32)
FW_LDFLAGS  := -nostdlib -static --build-id=none -z max-page-size=4096 \
	       -z noexecstack

FW_LIB_COMMON := serial.c exit.c string.c
FW_LIB64_SRCS := $(addprefix $(FW_SRC)/lib/,$(FW_LIB_COMMON) cpu64.c \
		 exception.c syscall.c pic_pit.c entry64.S isr64.S)
FW_LIB32_SRCS := $(addprefix $(FW_SRC)/lib/,$(FW_LIB_COMMON) entry32.S)
# Benchmark guests bring their own _start: no entry32.S, a PVH note instead.
FW_BENCH_SRCS := $(addprefix $(FW_SRC)/lib/,$(FW_LIB_COMMON) bench.c pvh_note.S)

FW_GUESTS64 := hello exits triple irq usermode
# The debugger tests' guest (tests/gdb/, docs/debugging.md).
FW_GUESTS64 += gdbtarget
FW_GUESTS32 := prot32
FW_GUESTS16 := realmode
FW_GUESTS_BENCH := bench_pio bench_mmio bench_exit bench_idle
# Teaching-lab guests (docs/labs/): built like the guests of the same width.
FW_GUESTS64 += lab_trap lab_sensitive lab_memory lab_smp lab_uart
FW_GUESTS16 += lab_boot

# $(call FW_OBJ,SRC,BITS): the object a source compiles to for BITS.
FW_OBJ = $(FW_OUT)/obj$(2)/$(basename $(notdir $(1))).o

FW_LIB64_OBJS := $(foreach s,$(FW_LIB64_SRCS),$(call FW_OBJ,$(s),64))
FW_LIB32_OBJS := $(foreach s,$(FW_LIB32_SRCS),$(call FW_OBJ,$(s),32))
FW_BENCH_OBJS := $(foreach s,$(FW_BENCH_SRCS),$(call FW_OBJ,$(s),32))

FW_ELF64 := $(FW_GUESTS64:%=$(FW_OUT)/%.elf)
FW_ELF32 := $(FW_GUESTS32:%=$(FW_OUT)/%.elf)
FW_ELF16 := $(FW_GUESTS16:%=$(FW_OUT)/%.elf)
FW_BIN16 := $(FW_GUESTS16:%=$(FW_OUT)/%.bin)
FW_ELF_BENCH := $(FW_GUESTS_BENCH:%=$(FW_OUT)/%.elf)

FW_ALL_OBJS := $(FW_LIB64_OBJS) $(FW_LIB32_OBJS) \
	       $(FW_GUESTS64:%=$(FW_OUT)/obj64/%.o) \
	       $(FW_GUESTS32:%=$(FW_OUT)/obj32/%.o) \
	       $(FW_GUESTS16:%=$(FW_OUT)/obj16/%.o) \
	       $(FW_BENCH_OBJS) $(FW_GUESTS_BENCH:%=$(FW_OUT)/obj32/%.o)

.PHONY: firmware
firmware: $(FW_ELF64) $(FW_ELF32) $(FW_ELF16) $(FW_BIN16) $(FW_ELF_BENCH)

# One compile rule per (source, width): .c and .S go through the same driver.
define FW_OBJ_RULE
$(call FW_OBJ,$(1),$(2)): $(1)
	@mkdir -p $$(dir $$@)
	$$(FW_CC) $$(FW_CFLAGS$(2)) -c -o $$@ $$<
endef

$(foreach s,$(FW_LIB64_SRCS),$(eval $(call FW_OBJ_RULE,$(s),64)))
$(foreach s,$(sort $(FW_LIB32_SRCS) $(FW_BENCH_SRCS)),$(eval $(call FW_OBJ_RULE,$(s),32)))
$(foreach g,$(FW_GUESTS64),$(eval $(call FW_OBJ_RULE,$(FW_SRC)/guests/$(g).c,64)))
$(foreach g,$(FW_GUESTS32),$(eval $(call FW_OBJ_RULE,$(FW_SRC)/guests/$(g).c,32)))
$(foreach g,$(FW_GUESTS16),$(eval $(call FW_OBJ_RULE,$(FW_SRC)/guests/$(g).S,16)))
$(foreach g,$(FW_GUESTS_BENCH),$(eval $(call FW_OBJ_RULE,$(FW_SRC)/guests/$(g).S,32)))

$(FW_ELF64): $(FW_OUT)/%.elf: $(FW_OUT)/obj64/%.o $(FW_LIB64_OBJS) $(FW_SRC)/lib/link64.ld
	$(FW_LD) $(FW_LDFLAGS) -m elf_x86_64 -T $(FW_SRC)/lib/link64.ld -o $@ $(filter %.o,$^)

$(FW_ELF32): $(FW_OUT)/%.elf: $(FW_OUT)/obj32/%.o $(FW_LIB32_OBJS) $(FW_SRC)/lib/link32.ld
	$(FW_LD) $(FW_LDFLAGS) -m elf_i386 -T $(FW_SRC)/lib/link32.ld -o $@ $(filter %.o,$^)

$(FW_ELF16): $(FW_OUT)/%.elf: $(FW_OUT)/obj16/%.o $(FW_SRC)/lib/link16.ld
	$(FW_LD) $(FW_LDFLAGS) -m elf_i386 -T $(FW_SRC)/lib/link16.ld -o $@ $(filter %.o,$^)

$(FW_ELF_BENCH): $(FW_OUT)/%.elf: $(FW_OUT)/obj32/%.o $(FW_BENCH_OBJS) $(FW_SRC)/lib/link32pvh.ld
	$(FW_LD) $(FW_LDFLAGS) -m elf_i386 -T $(FW_SRC)/lib/link32pvh.ld -o $@ $(filter %.o,$^)

$(FW_BIN16): $(FW_OUT)/%.bin: $(FW_OUT)/%.elf
	$(FW_OBJCOPY) -O binary $< $@

-include $(FW_ALL_OBJS:.o=.d)

# virtio driver guests (guests/virtio_*.c): the 64-bit runtime plus the small
# virtio-pci driver library (lib/virtio*.c), which the other guests do not need.
FW_GUESTS_VIRTIO := virtio_check virtio_hostile
# Lab 4's paravirtual half (docs/labs/04-emulation-vs-paravirt).
FW_GUESTS_VIRTIO += lab_virtio
FW_VIRTIO_SRCS := $(addprefix $(FW_SRC)/lib/,virtio_pci.c virtio_queue.c)
FW_VIRTIO_OBJS := $(foreach s,$(FW_VIRTIO_SRCS),$(call FW_OBJ,$(s),64))
FW_ELF_VIRTIO := $(FW_GUESTS_VIRTIO:%=$(FW_OUT)/%.elf)

firmware: $(FW_ELF_VIRTIO)

$(foreach s,$(FW_VIRTIO_SRCS),$(eval $(call FW_OBJ_RULE,$(s),64)))
$(foreach g,$(FW_GUESTS_VIRTIO),$(eval $(call FW_OBJ_RULE,$(FW_SRC)/guests/$(g).c,64)))

$(FW_ELF_VIRTIO): $(FW_OUT)/%.elf: $(FW_OUT)/obj64/%.o $(FW_VIRTIO_OBJS) $(FW_LIB64_OBJS) $(FW_SRC)/lib/link64.ld
	$(FW_LD) $(FW_LDFLAGS) -m elf_x86_64 -T $(FW_SRC)/lib/link64.ld -o $@ $(filter %.o,$^)

-include $(FW_VIRTIO_OBJS:.o=.d) $(FW_GUESTS_VIRTIO:%=$(FW_OUT)/obj64/%.d)
