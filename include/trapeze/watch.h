/*
 * watch: finds a text in a byte stream as it passes (the guest's console
 * output for --stop-on), with a KMP automaton: constant work per byte, and
 * a match that spans any number of writes is still found. It fires at the
 * newline that ends the line holding the match, so that line is complete.
 */
#ifndef TRAPEZE_WATCH_H
#define TRAPEZE_WATCH_H

#include "trapeze/types.h"

struct watch {
	const char *text;
	size_t len;
	size_t *fail;		/* KMP failure function, len entries */
	size_t matched;		/* bytes of text matched so far */
	bool fired;
	void (*fire)(void *opaque);	/* called once: end of the first matching line */
	void *opaque;
};

/* text must be non-empty and outlive the watch. 0, -EINVAL, -ENOMEM. */
int watch_init(struct watch *w, const char *text, void (*fire)(void *opaque),
	       void *opaque);
void watch_destroy(struct watch *w);

/* Feeds one byte; opaque is the struct watch (the serial_tap signature). */
void watch_byte(void *opaque, u8 byte);

#endif
