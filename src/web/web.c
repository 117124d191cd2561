/* web.c -- pylight-web: the operators' page beside pylightd, and the one writer of ref.txt */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "api.h"
#include "bus.h"
#include "cmdline.h"
#include "config.h"
#include "errlist.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "password.h"
#include "observe.h"
#include "signals.h"
#include "thresholds.h"
#include "zonecache.h"

#define LISTEN_BACKLOG 64
#define SUPERVISE_MS 1000 /* how often the broker connection's thread is checked */

/* [web] as checked by pylight-web, beside what config_load checks for every program. */
struct web_settings {
	struct addrinfo *addrs; /* of `listen`; NULL under socket activation */
	bool loopback;          /* every address of `listen` is a loopback one */
	char *password;         /* NULL: no authentication */
};

static bool addr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return sa->sa_family == AF_UNIX;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address). Returns 0 or an error message. */
static const char *listen_parse(const char *listen, struct addrinfo **out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	const char *colon = strrchr(listen, ':');
	char *host;
	int rc;

	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return "expected HOST:PORT, [IPV6]:PORT or :PORT";
	host = strndup(listen, (size_t)(colon - listen));
	if (!host)
		return strerror(ENOMEM);
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 2 || host[n - 1] != ']') {
			free(host);
			return "expected HOST:PORT, [IPV6]:PORT or :PORT";
		}
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, out);
	free(host);
	return rc ? gai_strerror(rc) : NULL;
}

/*
 * Checks [web]; adds each error to `errs` at its line, and warnings (a password file others
 * may read) to `warns`. `activated`: systemd passed a socket.
 */
static int web_check(const struct config *cfg, bool activated, struct web_settings *ws,
		     struct errlist *errs, struct errlist *warns)
{
	size_t before = errs->count;
	const char *why = NULL;
	struct addrinfo *a;

	memset(ws, 0, sizeof(*ws));
	if (cfg->web_password_file[0] &&
	    password_load(cfg->web_password_file, cfg->path, config_line(cfg, "web", "password_file"),
			  &ws->password, errs, warns) == -ENOMEM)
		errlist_add(errs, cfg->path, 0, "%s", strerror(ENOMEM));
	if (!activated) {
		why = listen_parse(cfg->web_listen, &ws->addrs);
		if (why) {
			errlist_add(errs, cfg->path, config_line(cfg, "web", "listen"),
				    "bad value '%s' for listen: %s", cfg->web_listen, why);
		} else {
			ws->loopback = true;
			for (a = ws->addrs; a; a = a->ai_next)
				ws->loopback = ws->loopback && addr_loopback(a->ai_addr);
			if (!ws->loopback && !cfg->web_password_file[0])
				errlist_add(errs, cfg->path, config_line(cfg, "web", "listen"),
					    "listen %s is not a loopback address: set password_file",
					    cfg->web_listen);
		}
	}
	return errs->count > before ? -EINVAL : 0;
}

static void web_settings_free(struct web_settings *ws)
{
	if (ws->addrs)
		freeaddrinfo(ws->addrs);
	free(ws->password);
	memset(ws, 0, sizeof(*ws));
}

/* -t's check of [web], as if serving on the address `listen` names. */
static int web_check_only(const struct config *cfg, struct errlist *errs, struct errlist *warns)
{
	struct web_settings ws;
	int rc = web_check(cfg, /* activated = */ false, &ws, errs, warns);

	web_settings_free(&ws);
	return rc;
}

/* The socket systemd passed, or -1 when there is none; -2 for more than one. */
static int activated_socket(void)
{
	int n = sd_listen_fds(/* unset_environment = */ 1);

	if (n <= 0)
		return -1;
	return n == 1 ? SD_LISTEN_FDS_START : -2;
}

static bool socket_loopback(int fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	       addr_loopback((const struct sockaddr *)&ss);
}

/* Binds and listens on the first address of `listen`. Returns the socket or -errno. */
static int socket_open(const struct addrinfo *a)
{
	int fd, one = 1;

	if (!a)
		return -EADDRNOTAVAIL;
	fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/*
 * Waits for SIGTERM or SIGINT, supervising the broker connection's thread every second
 * meanwhile; SIGHUP has nothing to reload (ref.txt is read per request).
 */
static void signals_wait(int fd, struct bus *bus)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct signalfd_siginfo si;

	for (;;) {
		int n = poll(&pfd, 1, SUPERVISE_MS);

		if (n < 0 && errno != EINTR)
			return;
		bus_supervise(bus);
		if (n <= 0)
			continue;
		if (read(fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_msg(LOG_NOTICE, "signal %s: shutting down",
				strsignal((int)si.ssi_signo));
			return;
		}
	}
}

/* Loads the configuration for serving. Returns 0 or EX_CONFIG after logging every error. */
static int load(const char *path, bool activated, struct config *cfg, struct web_settings *ws)
{
	struct errlist errs = { 0 }, warns = { 0 };
	struct thresholds *t = NULL;
	int rc = 0;

	if (config_load(path, cfg, &errs, &warns) < 0) {
		rc = EX_CONFIG;
	} else if (web_check(cfg, activated, ws, &errs, &warns) < 0) {
		web_settings_free(ws);
		config_free(cfg);
		rc = EX_CONFIG;
	}
	log_errlist(LOG_WARNING, &warns);
	log_errlist(LOG_ERR, &errs);
	errlist_clear(&errs);
	errlist_clear(&warns);
	if (rc) {
		log_msg(LOG_ERR, "invalid configuration, not starting");
		return rc;
	}
	log_set_level(cfg->log_level);
	/* an invalid ref.txt is what the page is for: it is reported, and served to be fixed */
	if (thresholds_load(cfg->thresholds_file,
			    &(struct thresholds_opts){ .site = config_has_site(cfg),
						       .max_zones = (size_t)cfg->readings_max_zones },
			    &t, &errs) < 0) {
		log_errlist(LOG_WARNING, &errs);
		log_msg(LOG_WARNING, "%s is invalid: pylightd keeps its previous thresholds",
			cfg->thresholds_file);
	}
	thresholds_free(t);
	errlist_clear(&errs);
	return 0;
}

/* This run's start in microseconds: the zone list's tokens of an earlier run are told apart. */
static uint64_t web_epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int serve(const char *path)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGHUP };
	struct web_settings ws = { 0 };
	struct zonecache *zones = NULL;
	struct http *http = NULL;
	struct bus *bus = NULL;
	struct metrics *metrics = NULL;
	struct history *history = NULL;
	struct config cfg;
	struct api api;
	char err[256], status[256];
	int fd, sig, rc;

	log_open();
	log_set_ident("pylight-web");
	sig = signals_open(handled, sizeof(handled) / sizeof(handled[0]), 0);
	if (sig < 0) {
		log_msg(LOG_ERR, "signals: %s", strerror(-sig));
		return 1;
	}
	fd = activated_socket();
	if (fd == -2) {
		log_msg(LOG_ERR, "systemd passed more than one socket; pylight-web takes one");
		return EX_CONFIG;
	}
	rc = load(path, fd >= 0, &cfg, &ws);
	if (rc)
		return rc;
	if (fd >= 0 && !ws.password && !socket_loopback(fd)) {
		log_msg(LOG_ERR, "%s: the socket systemd passed is not a loopback one: set [web] "
				 "password_file", cfg.path);
		rc = EX_CONFIG;
		goto out;
	}
	if (fd < 0) {
		fd = socket_open(ws.addrs);
		if (fd < 0) {
			log_msg(LOG_ERR, "listen on %s: %s", cfg.web_listen, strerror(-fd));
			rc = 1;
			goto out;
		}
	}
	rc = 1;
	zones = zonecache_new(web_epoch());
	if (!zones) {
		close(fd);
		log_msg(LOG_ERR, "%s", strerror(ENOMEM));
		goto out;
	}
	if (bus_new(&cfg, zones, &bus, err, sizeof(err)) < 0 ||
	    observe_start(&cfg, bus, &metrics, &history, err, sizeof(err)) < 0 ||
	    bus_start(bus, err, sizeof(err)) < 0) {
		close(fd);
		log_msg(LOG_ERR, "%s", err);
		goto out;
	}
	api_init(&api, cfg.thresholds_file, zones, bus);
	api.opts = (struct thresholds_opts){ .site = config_has_site(&cfg),
					    .max_zones = (size_t)cfg.readings_max_zones };
	api.metrics = metrics;
	api.history = history;
	api.history_hours_max = 24 * cfg.web_history_days;
	if (http_start(fd, &api, cfg.web_user, ws.password, &http, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		api_free(&api);
		goto out;
	}
	snprintf(status, sizeof(status), "serving %s on %s%s", cfg.thresholds_file,
		 ws.addrs ? cfg.web_listen : "the socket systemd passed",
		 ws.password ? " with a password" : "");
	log_msg(LOG_NOTICE, "%s", status);
	notify_status(status);
	notify_ready();
	signals_wait(sig, bus);
	notify_stopping();
	http_stop(http);
	api_free(&api);
	rc = 0;
out:
	if (bus)
		bus_stop(bus);
	history_free(history);
	metrics_free(metrics);
	bus_free(bus);
	zonecache_free(zones);
	web_settings_free(&ws);
	config_free(&cfg);
	close(sig);
	return rc;
}

int main(int argc, char **argv)
{
	return cmdline_main("pylight-web", argc, argv, web_check_only, serve);
}
