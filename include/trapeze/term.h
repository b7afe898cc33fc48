/*
 * term: puts the controlling terminal in raw mode while a guest owns the
 * console, and restores it on every way out: normal exit (term_restore),
 * and fatal signals (a handler that restores, then re-raises).
 */
#ifndef TRAPEZE_TERM_H
#define TRAPEZE_TERM_H

/* When fd is a terminal: saves its mode, switches to raw. 0, or -errno. Not a tty: 0, nothing done. */
int term_raw_enter(int fd);

/* Restores the saved mode, if any. Idempotent and async-signal-safe. */
void term_restore(void);

#endif
