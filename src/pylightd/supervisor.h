/* supervisor.h -- systemd's watchdog fed, the MQTT thread watched and restarted with back-off */
#ifndef PYLIGHT_SUPERVISOR_H
#define PYLIGHT_SUPERVISOR_H

#include "config.h"
#include "loop.h"
#include "mqtt.h"
#include "status.h"

struct supervisor;

/* Returns 0 or -ENOMEM. Everything passed in must outlive the supervisor. */
int supervisor_new(const struct config *cfg, struct loop *loop, struct mqtt *mqtt,
		   struct status *st, struct supervisor **out);
void supervisor_free(struct supervisor *sv);

/* After mqtt_start: watches for the thread's end and arms EV_WATCHDOG as needed. */
void supervisor_start(struct supervisor *sv);
/* The client connected: the next restart waits the shortest back-off again. Any thread. */
void supervisor_connected(struct supervisor *sv);
/* EV_WATCHDOG: checks the MQTT thread, updates STATUS and feeds the watchdog if all is well. */
void supervisor_watchdog(struct supervisor *sv);
/* EV_MQTT_ENDED: the thread has ended; a restart is scheduled after the back-off. */
void supervisor_thread_ended(struct supervisor *sv);
/* EV_MQTT_RESTART: starts the thread again, or schedules another try. */
void supervisor_restart(struct supervisor *sv);

#endif
