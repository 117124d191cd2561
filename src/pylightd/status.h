/* status.h -- the STATUS line systemd shows: connection, counters, the last reload */
#ifndef PYLIGHT_STATUS_H
#define PYLIGHT_STATUS_H

#include "control.h"
#include "loop.h"
#include "mqtt.h"

struct status;

/* Returns 0 or -ENOMEM. The loop, the client and the control must outlive the status. */
int status_new(struct loop *loop, struct mqtt *mqtt, struct control *ctl, struct status **out);
void status_free(struct status *st);

/* Sets the line's last part, what became of ref.txt; the next update shows it. */
void status_set_thresholds(struct status *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sends STATUS now. Main thread. */
void status_update(struct status *st);
/* Asks for an update soon, at most one a second: for per-message changes. Any thread. */
void status_soon(struct status *st);
/* EV_STATUS: the update status_soon asked for is due. */
void status_timer(struct status *st);
/* Sends STATUS and logs it, with one line per zone (SIGUSR1). */
void status_report(struct status *st);

#endif
