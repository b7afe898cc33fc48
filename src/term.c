/*
 * Raw terminal mode with guaranteed restore.
 *
 * The saved termios is the one file-scope variable in trapeze: a fatal
 * signal handler gets no context pointer, yet must put the user's terminal
 * back before the process dies. It is written once, before any thread
 * starts, and only read afterwards.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "trapeze/term.h"

static struct {
	int fd;
	volatile sig_atomic_t active;
	struct termios saved;
} term_state = { .fd = -1 };

void term_restore(void)
{
	if (!term_state.active)
		return;
	tcsetattr(term_state.fd, TCSAFLUSH, &term_state.saved);
	term_state.active = 0;
}

static void term_fatal_signal(int sig)
{
	term_restore();
	/* SA_RESETHAND restored the default action: die the way we were going to. */
	raise(sig);
}

static void term_catch_fatal_signals(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term_fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int term_raw_enter(int fd)
{
	struct termios raw;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &term_state.saved) < 0)
		return -errno;
	raw = term_state.saved;
	/*
	 * Every key goes to the guest: no line editing, no echo, no signals
	 * from ^C/^Z (the guest gets them; Ctrl-A x quits trapeze), no CR/NL
	 * translation. Output processing stays on so host messages print.
	 */
	cfmakeraw(&raw);
	raw.c_oflag = term_state.saved.c_oflag;
	if (tcsetattr(fd, TCSAFLUSH, &raw) < 0)
		return -errno;
	term_state.fd = fd;
	term_state.active = 1;
	term_catch_fatal_signals();
	return 0;
}
