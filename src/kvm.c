/*
 * /dev/kvm: API version, capabilities, supported CPUID, host description.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "trapeze/kvm.h"

#define KVM_DEV "/dev/kvm"
#define KVM_CPUID_MAX_ENTRIES 256

static const struct kvm_cap_desc kvm_caps[] = {
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY", true, "guest RAM from the VMM's memory" },
	{ KVM_CAP_IRQCHIP, "IRQCHIP", true, "in-kernel PIC, IOAPIC and LAPICs" },
	{ KVM_CAP_PIT2, "PIT2", true, "in-kernel i8254 timer" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID", true, "KVM_GET_SUPPORTED_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT", true, "race-free vCPU stop" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR", false, "real mode on Intel VMX" },
	{ KVM_CAP_IOEVENTFD, "IOEVENTFD", false, "virtio notifications without exits to userspace" },
	{ KVM_CAP_IRQFD, "IRQFD", false, "interrupts from device threads" },
	{ KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING", false, "MSI routing" },
	{ KVM_CAP_SIGNAL_MSI, "SIGNAL_MSI", false, "MSI injection" },
	{ KVM_CAP_SET_GUEST_DEBUG, "SET_GUEST_DEBUG", false, "single-step and breakpoints" },
	{ KVM_CAP_BINARY_STATS_FD, "BINARY_STATS_FD", false, "KVM's own exit statistics" },
	{ KVM_CAP_DIRTY_LOG_RING, "DIRTY_LOG_RING", false, "dirty-page tracking ring" },
};

int kvm_check_cap(const struct kvm_host *kvm, int cap)
{
	int r = ioctl(kvm->fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* vmx (Intel VT-x) or svm (AMD-V) among the host CPU's flags. */
static bool host_has_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return found;
}

static bool host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static int kvm_get_cpuid(struct kvm_host *kvm, char *err, size_t err_len)
{
	size_t sz = sizeof(struct kvm_cpuid2) +
		    KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, sz);

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = KVM_CPUID_MAX_ENTRIES;
	if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		int e = errno;

		snprintf(err, err_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
		free(cpuid);
		return -e;
	}
	kvm->cpuid = cpuid;
	for (u32 i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 0)	/* vendor "AuthenticAMD": EBX = "Auth" */
			kvm->amd = cpuid->entries[i].ebx == 0x68747541;
	return 0;
}

int kvm_open(struct kvm_host *kvm, char *err, size_t err_len)
{
	int r;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, err_len, KVM_DEV ": no such device (is the kvm module loaded, "
				 "or is this a VM without nested virtualization?)");
		else if (e == EACCES || e == EPERM)
			snprintf(err, err_len, KVM_DEV ": permission denied (add yourself to "
				 "the 'kvm' group or run as root)");
		else
			snprintf(err, err_len, KVM_DEV ": %s", strerror(e));
		return -e;
	}

	kvm->api_version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (kvm->api_version != KVM_API_VERSION) {
		snprintf(err, err_len, KVM_DEV ": API version %d, trapeze needs %d",
			 kvm->api_version, KVM_API_VERSION);
		r = -ENOTSUP;
		goto out_close;
	}

	for (size_t i = 0; i < ARRAY_SIZE(kvm_caps); i++) {
		if (kvm_caps[i].required && !kvm_check_cap(kvm, kvm_caps[i].cap)) {
			snprintf(err, err_len, KVM_DEV ": missing capability KVM_CAP_%s (%s)",
				 kvm_caps[i].name, kvm_caps[i].why);
			r = -ENOTSUP;
			goto out_close;
		}
	}

	kvm->run_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		snprintf(err, err_len, KVM_DEV ": bad vCPU mmap size %d", kvm->run_size);
		r = -EINVAL;
		goto out_close;
	}
	kvm->nr_vcpus = kvm_check_cap(kvm, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = kvm_check_cap(kvm, KVM_CAP_MAX_VCPUS);
	if (kvm->nr_vcpus <= 0)
		kvm->nr_vcpus = 4;	/* KVM API: assume 4 when the cap is absent */
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = kvm->nr_vcpus;
	kvm->software_backend = host_is_pvm();
	kvm->hw_virt = host_has_hw_virt();

	r = kvm_get_cpuid(kvm, err, err_len);
	if (r)
		goto out_close;
	return 0;

out_close:
	close(kvm->fd);
	kvm->fd = -1;
	return r;
}

void kvm_close(struct kvm_host *kvm)
{
	free(kvm->cpuid);
	kvm->cpuid = NULL;
	if (kvm->fd >= 0)
		close(kvm->fd);
	kvm->fd = -1;
}

int kvm_print_info(FILE *out)
{
	struct kvm_host kvm = { .fd = -1 };
	bool pvm = host_is_pvm(), hw = host_has_hw_virt();
	bool usable;

	fprintf(out, "host virtualization: %s\n",
		hw ? "hardware (vmx/svm in /proc/cpuinfo)" :
		pvm ? "no VT-x/AMD-V; KVM runs on the kvm_pvm software backend "
		      "(shadow paging, CPL-0 guest code emulated)" :
		"no vmx/svm in /proc/cpuinfo");

	kvm.fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (kvm.fd < 0) {
		int e = errno;

		fprintf(out, KVM_DEV ": %s\nusable by trapeze: no\n", strerror(e));
		return -e;
	}
	kvm.api_version = ioctl(kvm.fd, KVM_GET_API_VERSION, 0);
	usable = kvm.api_version == KVM_API_VERSION;
	fprintf(out, KVM_DEV ": API version %d%s\n", kvm.api_version,
		usable ? "" : " (trapeze needs 12)");
	fprintf(out, "vCPUs: recommended %d, maximum %d\n",
		kvm_check_cap(&kvm, KVM_CAP_NR_VCPUS), kvm_check_cap(&kvm, KVM_CAP_MAX_VCPUS));
	fprintf(out, "capabilities:\n");
	for (size_t i = 0; i < ARRAY_SIZE(kvm_caps); i++) {
		bool has = kvm_check_cap(&kvm, kvm_caps[i].cap) > 0;

		fprintf(out, "  %-16s %-8s %s%s\n", kvm_caps[i].name,
			has ? "yes" : "MISSING", kvm_caps[i].why,
			kvm_caps[i].required ? " (required)" : "");
		if (!has && kvm_caps[i].required)
			usable = false;
	}
	fprintf(out, "usable by trapeze: %s\n", usable ? "yes" : "no");
	close(kvm.fd);
	return usable ? 0 : -ENOTSUP;
}
