/* mosq.h -- libmosquitto's error codes as -errno, for the two programs' MQTT clients */
#ifndef PYLIGHT_MOSQ_H
#define PYLIGHT_MOSQ_H

/* MOSQ_ERR_* as 0 or a negative errno: the one translation of libmosquitto's codes. */
int mosq_errno(int rc);

#endif
