/*
 * errmsg: the one-line error messages that functions returning -errno leave
 * in a caller's (err, err_len) buffer, so the user reads what was wrong, not
 * just "Invalid argument". One formatter for every module that does this.
 */
#ifndef TRAPEZE_ERRMSG_H
#define TRAPEZE_ERRMSG_H

#include "trapeze/types.h"

/*
 * Formats the message into err, truncated to err_len - 1 bytes and always
 * NUL-terminated. A NULL err or a zero err_len means the caller wants no
 * message: nothing is written.
 */
void __attribute__((format(printf, 3, 4)))
errmsg_set(char *err, size_t err_len, const char *fmt, ...);

/* errmsg_set(), then returns -EINVAL: for parsers refusing bad input. */
int __attribute__((format(printf, 3, 4)))
errmsg_invalid(char *err, size_t err_len, const char *fmt, ...);

/* A u64 for %llu / %llx, whatever type u64 is underneath. */
static inline unsigned long long ull(u64 v)
{
	return v;
}

#endif
