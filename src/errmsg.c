/*
 * errmsg: the shared one-line error formatter. Contract in
 * include/trapeze/errmsg.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include "trapeze/errmsg.h"

void errmsg_set(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}
