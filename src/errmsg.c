/*
 * errmsg: the shared one-line error formatter. Contract in
 * include/trapeze/errmsg.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "trapeze/errmsg.h"

static void errmsg_vset(char *err, size_t err_len, const char *fmt, va_list ap)
{
	if (err && err_len)
		vsnprintf(err, err_len, fmt, ap);
}

void errmsg_set(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errmsg_vset(err, err_len, fmt, ap);
	va_end(ap);
}

int errmsg_invalid(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errmsg_vset(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}
