/*
 * event_loop: one epoll thread and its registered fds.
 *
 * epoll hands back a 64-bit cookie per ready fd. The cookie is not a pointer
 * to the registration but a fresh id that is never reused: a registration
 * removed after epoll_wait() returned, but before its event is handled, is
 * simply not found, so a stale event can never reach freed memory or a new
 * owner of the same fd number.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "trapeze/event_loop.h"

#define EVENT_LOOP_STOP_ID 0	/* the stop eventfd's cookie; handler ids start at 1 */
#define EVENT_LOOP_BATCH 16

struct event_handler {
	struct event_handler *next;
	u64 id;
	int fd;
	event_loop_fn *fn;
	void *opaque;
};

struct event_loop {
	int epfd;
	int stop_fd;
	pthread_t thread;
	/* Guards everything below; a leaf lock (see event_loop.h). */
	pthread_mutex_t lock;
	bool started;			/* thread created and not yet joined */
	pthread_cond_t idle;		/* signalled when running returns to 0 */
	struct event_handler *handlers;
	u64 next_id;
	u64 running;			/* id whose callback runs now; 0 = none */
};

static struct event_handler *find_id(struct event_loop *el, u64 id)
{
	for (struct event_handler *h = el->handlers; h; h = h->next)
		if (h->id == id)
			return h;
	return NULL;
}

/* Runs the callback registered under id, if it is still registered. */
static void dispatch(struct event_loop *el, u64 id, u32 events)
{
	struct event_handler *h;
	event_loop_fn *fn;
	void *opaque;

	pthread_mutex_lock(&el->lock);
	h = find_id(el, id);
	if (!h) {
		pthread_mutex_unlock(&el->lock);
		return;
	}
	fn = h->fn;
	opaque = h->opaque;
	el->running = id;
	pthread_mutex_unlock(&el->lock);

	fn(opaque, events);

	pthread_mutex_lock(&el->lock);
	el->running = 0;
	pthread_cond_broadcast(&el->idle);
	pthread_mutex_unlock(&el->lock);
}

static void *event_loop_thread(void *arg)
{
	struct event_loop *el = arg;
	struct epoll_event evs[EVENT_LOOP_BATCH];

	for (;;) {
		int n = epoll_wait(el->epfd, evs, EVENT_LOOP_BATCH, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "trapeze: event loop: epoll_wait: %s; I/O thread stopped\n",
				strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == EVENT_LOOP_STOP_ID)
				return NULL;
			dispatch(el, evs[i].data.u64, evs[i].events);
		}
	}
}

int event_loop_create(struct event_loop **out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EVENT_LOOP_STOP_ID };
	struct event_loop *el;
	sigset_t all, old;
	int r;

	*out = NULL;
	el = calloc(1, sizeof(*el));
	if (!el)
		return -ENOMEM;
	el->next_id = EVENT_LOOP_STOP_ID + 1;
	pthread_mutex_init(&el->lock, NULL);
	pthread_cond_init(&el->idle, NULL);
	el->stop_fd = -1;
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (el->epfd < 0) {
		r = -errno;
		goto out_free;
	}
	el->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (el->stop_fd < 0) {
		r = -errno;
		goto out_close_epfd;
	}
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, el->stop_fd, &ev) < 0) {
		r = -errno;
		goto out_close_stop;
	}

	/* Signals belong to the vCPU and main threads: the loop never takes one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&el->thread, NULL, event_loop_thread, el);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		goto out_close_stop;
	el->started = true;
	*out = el;
	return 0;

out_close_stop:
	close(el->stop_fd);
out_close_epfd:
	close(el->epfd);
out_free:
	pthread_cond_destroy(&el->idle);
	pthread_mutex_destroy(&el->lock);
	free(el);
	return r;
}

void event_loop_stop(struct event_loop *el)
{
	u64 one = 1;

	if (!el || !el->started)
		return;
	if (write(el->stop_fd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "trapeze: event loop: cannot signal stop: %s\n", strerror(errno));
	pthread_join(el->thread, NULL);
	pthread_mutex_lock(&el->lock);
	el->started = false;
	pthread_mutex_unlock(&el->lock);
}

void event_loop_destroy(struct event_loop *el)
{
	if (!el)
		return;
	event_loop_stop(el);
	while (el->handlers) {
		struct event_handler *h = el->handlers;

		el->handlers = h->next;
		free(h);
	}
	close(el->stop_fd);
	close(el->epfd);
	pthread_cond_destroy(&el->idle);
	pthread_mutex_destroy(&el->lock);
	free(el);
}

int event_loop_add(struct event_loop *el, int fd, u32 events, event_loop_fn *fn,
		   void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct event_handler *h;

	if (fd < 0 || !fn || !events)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->fn = fn;
	h->opaque = opaque;

	pthread_mutex_lock(&el->lock);
	h->id = el->next_id++;
	ev.data.u64 = h->id;
	/* Under the lock: an event for h can only be dispatched once h is listed. */
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;

		pthread_mutex_unlock(&el->lock);
		free(h);
		return r;
	}
	h->next = el->handlers;
	el->handlers = h;
	pthread_mutex_unlock(&el->lock);
	return 0;
}

int event_loop_remove(struct event_loop *el, int fd)
{
	struct event_handler **pp, *h = NULL;
	bool self;

	pthread_mutex_lock(&el->lock);
	for (pp = &el->handlers; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			h = *pp;
			*pp = h->next;
			break;
		}
	}
	if (!h) {
		pthread_mutex_unlock(&el->lock);
		return -ENOENT;
	}
	/* The fd may already be closed by its owner (epoll dropped it then): not an error. */
	epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL);
	self = el->started && pthread_equal(pthread_self(), el->thread);
	while (!self && el->running == h->id)
		pthread_cond_wait(&el->idle, &el->lock);
	pthread_mutex_unlock(&el->lock);
	free(h);
	return 0;
}
