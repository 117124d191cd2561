/* mosq.c -- what both programs' libmosquitto clients share: setup, the loop thread, errors */
#include "mosq.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIDS_MAX 64

int mosq_errno(int rc)
{
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		return 0;
	case MOSQ_ERR_NOMEM:
		return -ENOMEM;
	case MOSQ_ERR_NO_CONN:
		return -ENOTCONN;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_PAYLOAD_SIZE:
		return -EINVAL;
	case MOSQ_ERR_ERRNO:
		return errno ? -errno : -EIO;
	default:
		return -EIO;
	}
}

int mosq_fail(int rc, char *err, size_t errlen, const char *what)
{
	int neg = mosq_errno(rc);

	snprintf(err, errlen, "%s: %s", what,
		 rc == MOSQ_ERR_ERRNO ? strerror(-neg) : mosquitto_strerror(rc));
	return neg;
}

/* Everything set before the first connect: the same for every client of the broker. */
static int client_setup(struct mosquitto *mosq, const struct config *c)
{
	int rc = mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION,
				      c->mqtt_protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);

	/* without it, a request and its answer wait on Nagle and delayed ACKs (~88 ms) */
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc == MOSQ_ERR_SUCCESS && c->mqtt_username[0])
		rc = mosquitto_username_pw_set(mosq, c->mqtt_username,
					       c->mqtt_password[0] ? c->mqtt_password : NULL);
	if (rc == MOSQ_ERR_SUCCESS && (c->mqtt_tls_ca_file[0] || c->mqtt_tls_cert_file[0])) {
		rc = mosquitto_tls_set(mosq, c->mqtt_tls_ca_file[0] ? c->mqtt_tls_ca_file : NULL,
				       NULL, c->mqtt_tls_cert_file[0] ? c->mqtt_tls_cert_file : NULL,
				       c->mqtt_tls_key_file[0] ? c->mqtt_tls_key_file : NULL, NULL);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_tls_insecure_set(mosq, c->mqtt_tls_insecure);
	}
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_reconnect_delay_set(mosq, (unsigned)c->mqtt_reconnect_min,
						   (unsigned)c->mqtt_reconnect_max,
						   /* exponential = */ true);
	return rc;
}

int mosq_client_new(const struct config *cfg, const char *id, bool clean_session, void *obj,
		    const struct mosq_callbacks *cb, struct mosquitto **out, char *err,
		    size_t errlen)
{
	struct mosquitto *mosq;
	int rc;

	*out = NULL;
	mosquitto_lib_init();
	errno = 0;
	mosq = mosquitto_new(id, clean_session, obj);
	if (!mosq) {
		rc = errno ? -errno : -ENOMEM;
		snprintf(err, errlen, "mqtt: %s", strerror(-rc));
		mosquitto_lib_cleanup();
		return rc;
	}
	rc = client_setup(mosq, cfg);
	if (rc != MOSQ_ERR_SUCCESS) {
		rc = mosq_fail(rc, err, errlen, "mqtt setup");
		mosq_client_free(mosq);
		return rc;
	}
	mosquitto_connect_callback_set(mosq, cb->connect);
	mosquitto_disconnect_callback_set(mosq, cb->disconnect);
	mosquitto_publish_callback_set(mosq, cb->publish);
	mosquitto_message_callback_set(mosq, cb->message);
	mosquitto_log_callback_set(mosq, cb->log);
	*out = mosq;
	return 0;
}

void mosq_client_stop(struct mosquitto *mosq)
{
	mosquitto_disconnect(mosq);
	mosquitto_loop_stop(mosq, /* force = */ false);
}

void mosq_client_free(struct mosquitto *mosq)
{
	if (!mosq)
		return;
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
}

/* The ids of this process's threads, at most `cap`. */
static size_t tids(pid_t *buf, size_t cap)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < cap)
		if (e->d_name[0] != '.')
			buf[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	return n;
}

int mosq_loop_start(struct mosquitto *mosq, pid_t *tid, char *err, size_t errlen)
{
	pid_t before[TIDS_MAX], after[TIDS_MAX];
	size_t nbefore = tids(before, TIDS_MAX), nafter, i, j;
	int rc = mosquitto_loop_start(mosq);

	if (rc != MOSQ_ERR_SUCCESS)
		return mosq_fail(rc, err, errlen, "mqtt loop");
	/* the loop thread is the one thread that is new */
	*tid = 0;
	nafter = tids(after, TIDS_MAX);
	for (i = 0; i < nafter && !*tid; i++) {
		for (j = 0; j < nbefore && before[j] != after[i]; j++)
			;
		if (j == nbefore)
			*tid = after[i];
	}
	return 0;
}

/*
 * The ended thread left its socket closed: the new one finds no connection and reconnects
 * by itself, after the client's reconnect delay. Reconnecting from this thread instead would
 * run the TLS handshake here while the new loop thread may close the same connection (a
 * use-after-free inside OpenSSL, seen under ASan).
 */
int mosq_loop_restart(struct mosquitto *mosq, pid_t *tid, char *err, size_t errlen)
{
	mosquitto_loop_stop(mosq, /* force = */ false); /* joins the ended thread */
	return mosq_loop_start(mosq, tid, err, errlen);
}

int mosq_connect(struct mosquitto *mosq, const struct config *cfg, char *err, size_t errlen)
{
	int rc = mosquitto_connect_async(mosq, cfg->mqtt_host, cfg->mqtt_port, cfg->mqtt_keepalive);

	/* every other error (DNS, a refused or unreachable broker) is the loop thread's to retry */
	if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM)
		return mosq_fail(rc, err, errlen, "mqtt connect");
	return 0;
}

int mosq_thread_state(pid_t tid)
{
	char path[64], buf[128], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')'); /* the comm field before it may hold ')' itself */
	return p && p[1] == ' ' ? p[2] : '?';
}

const char *mosq_refusal(const struct config *cfg, int rc)
{
	return cfg->mqtt_protocol == 5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc);
}
