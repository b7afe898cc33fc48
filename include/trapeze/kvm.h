/*
 * kvm: the host's /dev/kvm. Opens it, checks the API version and every
 * capability trapeze relies on, and describes the host (`trapeze info`).
 */
#ifndef TRAPEZE_KVM_H
#define TRAPEZE_KVM_H

#include <stdio.h>

#include "trapeze/types.h"

struct kvm_cpuid2;

struct kvm_host {
	int fd;			/* /dev/kvm */
	int api_version;
	int run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	int nr_vcpus;		/* recommended vCPU count (KVM_CAP_NR_VCPUS) */
	int max_vcpus;		/* KVM_CAP_MAX_VCPUS */
	bool software_backend;	/* kvm_pvm: no VT-x/AMD-V underneath */
	bool hw_virt;		/* vmx or svm in /proc/cpuinfo */
	bool amd;		/* CPUID vendor AuthenticAMD (SVM semantics) */
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID, malloc'd */
};

/* A capability trapeze checks, for messages and `trapeze info`. */
struct kvm_cap_desc {
	int cap;
	const char *name;
	bool required;
	const char *why;
};

/*
 * Opens /dev/kvm and checks API version 12, every required capability and
 * the supported CPUID. 0 or -errno with one line in err naming what is
 * missing ("/dev/kvm: No such file or directory (is the kvm module loaded?)").
 */
int kvm_open(struct kvm_host *kvm, char *err, size_t err_len);
void kvm_close(struct kvm_host *kvm);

/* KVM_CHECK_EXTENSION on the system fd; 0 when absent. */
int kvm_check_cap(const struct kvm_host *kvm, int cap);

/* Prints what the host offers and what is missing; returns 0 when usable. */
int kvm_print_info(FILE *out);

#endif
