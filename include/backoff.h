/* backoff.h -- how long to wait before restarting what keeps failing: doubled, capped, reset */
#ifndef PYLIGHT_BACKOFF_H
#define PYLIGHT_BACKOFF_H

#include <stdatomic.h>

/* The waits go min_s, 2 min_s, 4 min_s... up to max_s, until a success starts them over. */
struct backoff {
	atomic_int next_s;
	int min_s, max_s;
};

void backoff_init(struct backoff *b, int min_s, int max_s);
/* A success (a connection): the next wait is the shortest again. Any thread. */
void backoff_reset(struct backoff *b);
/* The wait before the next attempt, in seconds; the wait after it is doubled, up to max_s. */
int backoff_next(struct backoff *b);
/* The wait backoff_next would return, leaving it as it is. */
int backoff_peek(struct backoff *b);

#endif
