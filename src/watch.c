/*
 * Streaming text search (Knuth-Morris-Pratt) over console output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trapeze/watch.h"

int watch_init(struct watch *w, const char *text, void (*fire)(void *opaque),
	       void *opaque)
{
	size_t k = 0;

	memset(w, 0, sizeof(*w));
	if (!text || !*text)
		return -EINVAL;
	w->text = text;
	w->len = strlen(text);
	w->fire = fire;
	w->opaque = opaque;
	w->fail = calloc(w->len, sizeof(*w->fail));
	if (!w->fail)
		return -ENOMEM;
	/* fail[i]: length of the longest proper border of text[0..i]. */
	for (size_t i = 1; i < w->len; i++) {
		while (k && text[i] != text[k])
			k = w->fail[k - 1];
		if (text[i] == text[k])
			k++;
		w->fail[i] = k;
	}
	return 0;
}

void watch_destroy(struct watch *w)
{
	free(w->fail);
	w->fail = NULL;
}

void watch_byte(void *opaque, u8 byte)
{
	struct watch *w = opaque;

	if (w->fired)
		return;
	if (w->matched == w->len) {
		/* Matched earlier: fire at the end of that line, so it is printed whole. */
		if (byte == '\n') {
			w->fired = true;
			if (w->fire)
				w->fire(w->opaque);
		}
		return;
	}
	while (w->matched && (u8)w->text[w->matched] != byte)
		w->matched = w->fail[w->matched - 1];
	if ((u8)w->text[w->matched] == byte)
		w->matched++;
}
