/*
 * event_loop: one epoll thread that runs callbacks when file descriptors
 * become ready: the queues' ioeventfds (virtio notifications), and later
 * device backend completions.
 *
 * Callbacks run on the loop thread, one at a time, level-triggered: a
 * callback must consume what made its fd ready (read the eventfd) or it is
 * called again at once. A callback may block only briefly: every other fd
 * waits behind it.
 *
 * Thread safety: event_loop_add() and event_loop_remove() may be called from
 * any thread, before, during or after the loop runs, and from a callback.
 * When event_loop_remove() returns, the fd's callback is not running and will
 * not run again, so its opaque may be freed; called from that same callback
 * (on the loop thread) it cannot wait for itself and returns at once, and
 * the callback must then not touch its opaque after it returns.
 *
 * Lock order: event_loop.lock is a leaf: no callback runs with it held, and
 * no other lock is taken under it.
 */
#ifndef TRAPEZE_EVENT_LOOP_H
#define TRAPEZE_EVENT_LOOP_H

#include "trapeze/types.h"

struct event_loop;

/* Called on the loop thread with the epoll events that fired (EPOLLIN, EPOLLHUP, ...). */
typedef void event_loop_fn(void *opaque, u32 events);

/*
 * Creates the loop (its epoll fd and the eventfd that stops it) and starts
 * its thread, with every signal blocked. 0 or -errno; *out is NULL on error.
 */
int event_loop_create(struct event_loop **out);

/*
 * Stops the thread and waits for it: the callback running now finishes, no
 * other one starts. The fds stay registered (removing them still works).
 * Idempotent; NULL is a no-op.
 */
void event_loop_stop(struct event_loop *el);

/* Stops the loop if it runs, forgets every fd (closing none) and frees it. NULL is a no-op. */
void event_loop_destroy(struct event_loop *el);

/*
 * Watches fd for events (EPOLLIN, EPOLLOUT, ...) and calls fn(opaque, events)
 * when they occur. 0, -EINVAL (bad fd, no fn, no events), -EEXIST (fd already
 * watched), -ENOMEM, or another -errno from epoll_ctl.
 */
int event_loop_add(struct event_loop *el, int fd, u32 events, event_loop_fn *fn,
		   void *opaque);

/*
 * Stops watching fd; waits until its callback is not running (unless called
 * from that callback). 0 or -ENOENT when fd is not watched.
 */
int event_loop_remove(struct event_loop *el, int fd);

#endif
