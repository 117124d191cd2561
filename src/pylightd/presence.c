/* presence.c -- the pure occupancy state machine: sensors' latest reports and vacancy time */
#include "presence.h"

static uint16_t sensors_mask(unsigned n)
{
	return n >= PRESENCE_SENSORS ? 0xffff : (uint16_t)((1u << n) - 1);
}

void presence_report(struct presence *p, unsigned n, unsigned i, bool present, int64_t now)
{
	uint16_t all = sensors_mask(n), bit;
	bool was_occupied;

	if (i >= n || i >= PRESENCE_SENSORS)
		return;
	bit = (uint16_t)(1u << i);
	/* "Someone is there" by the sensors alone, before vacancy_after. */
	was_occupied = (p->heard & all) != all || (p->present & all);
	p->heard |= bit;
	if (present)
		p->present |= bit;
	else
		p->present &= (uint16_t)~bit;
	if (was_occupied && (p->heard & all) == all && !(p->present & all))
		p->absent_from = now;
}

bool presence_occupied(const struct presence *p, unsigned n, int64_t vacancy_after, int64_t now,
		       int64_t *deadline)
{
	uint16_t all = sensors_mask(n);

	*deadline = -1;
	if (n == 0 || (p->heard & all) != all || (p->present & all))
		return true;
	if (now - p->absent_from < vacancy_after) {
		*deadline = p->absent_from + vacancy_after;
		return true;
	}
	return false;
}
