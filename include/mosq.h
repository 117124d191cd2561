/* mosq.h -- what both programs' libmosquitto clients share: setup, the loop thread, errors */
#ifndef PYLIGHT_MOSQ_H
#define PYLIGHT_MOSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct mosquitto;
struct mosquitto_message;

/* libmosquitto's callbacks, run on its loop thread; NULL for those not wanted. */
struct mosq_callbacks {
	void (*connect)(struct mosquitto *mosq, void *obj, int rc);
	void (*disconnect)(struct mosquitto *mosq, void *obj, int rc);
	void (*publish)(struct mosquitto *mosq, void *obj, int mid);
	void (*message)(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg);
	void (*log)(struct mosquitto *mosq, void *obj, int level, const char *str);
};

/* MOSQ_ERR_* as 0 or a negative errno: the one translation of libmosquitto's codes. */
int mosq_errno(int rc);
/* Fills `err` with "WHAT: why" for libmosquitto's `rc` and returns it as -errno. */
int mosq_fail(int rc, char *err, size_t errlen, const char *what);

/*
 * A client of `cfg`'s broker named `id`, `obj` handed to its callbacks `cb`: the protocol
 * version, TCP_NODELAY, the credentials, TLS and the reconnect delays (reconnect_min
 * doubling up to reconnect_max) set. Returns 0, or -errno with `err` filled and *out NULL.
 * Each client holds a reference to libmosquitto: free it with mosq_client_free.
 */
int mosq_client_new(const struct config *cfg, const char *id, bool clean_session, void *obj,
		    const struct mosq_callbacks *cb, struct mosquitto **out, char *err,
		    size_t errlen);
/* Disconnects and joins the loop thread. */
void mosq_client_stop(struct mosquitto *mosq);
/* Destroys the client and drops its reference to libmosquitto; NULL is a no-op. */
void mosq_client_free(struct mosquitto *mosq);

/*
 * Starts libmosquitto's loop thread and sets *tid to its id (0 when it cannot be told), so
 * that its end can be noticed: libmosquitto ends it for good on some errors. Returns 0, or
 * -errno with `err` filled and *tid as it was.
 */
int mosq_loop_start(struct mosquitto *mosq, pid_t *tid, char *err, size_t errlen);
/* Joins the ended loop thread and starts another, which reconnects by itself. */
int mosq_loop_restart(struct mosquitto *mosq, pid_t *tid, char *err, size_t errlen);
/*
 * Connects asynchronously, after mosq_loop_start (the other order never retries a broker
 * that is down at start). Only an error that no retry can mend is returned.
 */
int mosq_connect(struct mosquitto *mosq, const struct config *cfg, char *err, size_t errlen);
/* The state letter of thread `tid` in /proc (R, S, T, t...), 0 once it has ended, '?'. */
int mosq_thread_state(pid_t tid);
/* What a CONNACK refusal code `rc` means, under the protocol `cfg` speaks. */
const char *mosq_refusal(const struct config *cfg, int rc);

#endif
