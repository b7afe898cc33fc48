/*
 * power: how a device ends the VM (power off, reset, debug exit) without
 * knowing about struct vm. The board wires it to vm_request_stop().
 */
#ifndef TRAPEZE_POWER_H
#define TRAPEZE_POWER_H

struct power_ctl {
	void (*request)(void *opaque, int status, const char *reason);
	void *opaque;
};

static inline void power_request(const struct power_ctl *p, int status,
				 const char *reason)
{
	if (p && p->request)
		p->request(p->opaque, status, reason);
}

#endif
