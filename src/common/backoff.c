/* backoff.c -- how long to wait before restarting what keeps failing: doubled, capped, reset */
#include "backoff.h"

void backoff_init(struct backoff *b, int min_s, int max_s)
{
	b->min_s = min_s;
	b->max_s = max_s;
	atomic_init(&b->next_s, min_s);
}

void backoff_reset(struct backoff *b)
{
	atomic_store(&b->next_s, b->min_s);
}

int backoff_next(struct backoff *b)
{
	int now = atomic_load(&b->next_s);
	int after = now > b->max_s / 2 ? b->max_s : now * 2;

	/* a reset that came meanwhile wins: the next wait is then the shortest */
	atomic_compare_exchange_strong(&b->next_s, &now, after);
	return now;
}

int backoff_peek(struct backoff *b)
{
	return atomic_load(&b->next_s);
}
