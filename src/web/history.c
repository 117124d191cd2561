/* history.c -- each zone's lux by the minute and its orders, kept in SQLite for the plot */
#include "history.h"

#include <dlfcn.h>
#include <errno.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#include "hash.h"
#include "log.h"
#include "reading.h"
#include "topic.h"

/*
 * Threads: the MQTT thread aggregates readings into each zone's current minute and queues
 * finished minutes and orders (under `lock`, in memory only); the writer thread, alone in
 * writing the database, takes the queue once a second and writes it in one transaction,
 * and prunes hourly. Requests read through a connection of their own (WAL: readers never
 * wait for the writer), so neither a request nor the MQTT thread ever waits for the disk.
 */
#define TICK_MS 1000
#define RETRY_S 10            /* a database that failed is tried again after this */
#define PRUNE_EVERY_S 3600
#define PENDING_MAX 1000000   /* rows kept in memory while the database fails (~64 MiB) */

enum row_kind { ROW_MINUTE, ROW_ORDER };

struct row {
	enum row_kind kind;
	char *zone;
	int64_t t;     /* ROW_MINUTE: the minute's start (Unix seconds); ROW_ORDER: ms */
	unsigned n;    /* readings in the minute */
	double min, mean, max;
	int light;     /* 1 ON, 0 OFF, -1 unknown: the light at the minute's end, or the order */
	int level;     /* a dimmed zone's level at the minute's end; -1 none */
};

/* A zone's minute in progress and what is known of its light. MQTT thread, under lock. */
struct hzone {
	char *name;
	int64_t minute; /* start of the minute aggregated; 0: none */
	unsigned n;
	double min, max, sum;
	int light, level;
	UT_hash_handle hh;
};

/* The writer's cache of zone ids in the database. */
struct zid {
	char *name;
	int64_t id;
	UT_hash_handle hh;
};

struct history {
	const struct config *cfg;
	char *path;
	pthread_t writer;
	int wake; /* eventfd: stop */
	pthread_mutex_t lock;
	struct hzone *zones;
	struct row *pending;
	size_t npending, cap;
	bool dropped_logged;
	/* writer thread only */
	sqlite3 *db;
	struct zid *ids;
	bool failing;         /* the last try failed: logged once, retried every RETRY_S */
	int64_t retry_at, prune_at;
	/* the request thread only */
	sqlite3 *reader;
	unsigned reader_gen;
	_Atomic unsigned gen; /* bumped when the file was set aside and started afresh */
	size_t readings_len, orders_len, state_len;
};

/*
 * SQLite is opened when the history is on, not linked: linked, libsqlite3 and the libm it
 * needs are mapped and relocated at start, about 0.5 MiB of pylight-web's resident pages
 * at rest, and its footprint with 100 zones is held to 8 MiB. The package depends on
 * libsqlite3-0 all the same. Each pointer has the type of the function in sqlite3.h.
 */
#define SQLITE_FUNCS(X)                                                                    \
	X(open_v2) X(close_v2) X(busy_timeout) X(exec) X(errstr) X(system_errno)          \
	X(prepare_v2) X(reset) X(step) X(finalize) X(bind_int) X(bind_int64) X(bind_null) \
	X(bind_text) X(column_int) X(column_int64) X(column_type)
/* NOLINTNEXTLINE(bugprone-macro-parentheses): f is the member's name, not an expression */
#define SQLITE_POINTER(f) __typeof__(sqlite3_##f) *f;
static struct {
	SQLITE_FUNCS(SQLITE_POINTER)
	void *handle; /* kept open for the life of the process */
	bool ok;
} sqlite;
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_open(void)
{
	void *h = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		log_msg(LOG_ERR, "history: %s", dlerror());
		return;
	}
	sqlite.handle = h;
	sqlite.ok = true;
	/* POSIX's way to take a function from dlsym's object pointer. */
#define SQLITE_SYM(f)                                                          \
	*(void **)&sqlite.f = dlsym(h, "sqlite3_" #f);                         \
	if (!sqlite.f && sqlite.ok) { /* the first missing one tells enough */ \
		log_msg(LOG_ERR, "history: %s", dlerror());                    \
		sqlite.ok = false;                                             \
	}
	SQLITE_FUNCS(SQLITE_SYM)
}

#define sqlite3_open_v2 sqlite.open_v2
#define sqlite3_close_v2 sqlite.close_v2
#define sqlite3_busy_timeout sqlite.busy_timeout
#define sqlite3_exec sqlite.exec
#define sqlite3_errstr sqlite.errstr
#define sqlite3_system_errno sqlite.system_errno
#define sqlite3_prepare_v2 sqlite.prepare_v2
#define sqlite3_reset sqlite.reset
#define sqlite3_step sqlite.step
#define sqlite3_finalize sqlite.finalize
#define sqlite3_bind_int sqlite.bind_int
#define sqlite3_bind_int64 sqlite.bind_int64
#define sqlite3_bind_null sqlite.bind_null
#define sqlite3_bind_text sqlite.bind_text
#define sqlite3_column_int sqlite.column_int
#define sqlite3_column_int64 sqlite.column_int64
#define sqlite3_column_type sqlite.column_type

/* Lux are stored in tenths, as integers: 29 bytes a minute row instead of 47 as REALs. */
static const char SCHEMA[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS zones(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE IF NOT EXISTS minutes(zone INTEGER NOT NULL, t INTEGER NOT NULL,"
	" n INTEGER NOT NULL, min INTEGER, mean INTEGER, max INTEGER, light INTEGER,"
	" level INTEGER,"
	" PRIMARY KEY(zone, t)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS orders(zone INTEGER NOT NULL, t INTEGER NOT NULL,"
	" light INTEGER NOT NULL, PRIMARY KEY(zone, t, light)) WITHOUT ROWID;";

/* A partial minute written at shutdown merges with the rest of it after the restart. */
static const char UPSERT_MINUTE[] =
	"INSERT INTO minutes(zone, t, n, min, mean, max, light, level)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	" ON CONFLICT(zone, t) DO UPDATE SET min = MIN(min, excluded.min),"
	" max = MAX(max, excluded.max),"
	" mean = CAST(ROUND((mean * n + excluded.mean * excluded.n) * 1.0 / (n + excluded.n))"
	" AS INTEGER),"
	" n = n + excluded.n, light = excluded.light, level = excluded.level";

/*
 * round() without libm, halfway cases away from zero as its: libm is not linked either (it
 * came with libsqlite3, and would map 0.3 MiB more at start).
 */
#define TWO_52 4503599627370496.0    /* from here on, every double is an integer */
#define TWO_63 9223372036854775808.0 /* just above int64's largest */

static double nearest(double x)
{
	double i;

	if (!(x > -TWO_52 && x < TWO_52))
		return x; /* an integer already */
	i = (double)(int64_t)x;
	return x - i >= 0.5 ? i + 1 : x - i <= -0.5 ? i - 1 : i;
}

/* Lux (finite, not negative) as the integer tenths stored; beyond int64, its largest. */
static int64_t tenths(double lux)
{
	double t = nearest(lux * 10);

	return t < TWO_63 ? (int64_t)t : INT64_MAX;
}

/* Queues a row (lock held); the oldest rows go first when the database has been failing. */
static void pending_add(struct history *h, struct row *r)
{
	if (h->npending == PENDING_MAX) {
		/* a tenth at once: one move per 100,000 rows, not one per row */
		size_t drop = PENDING_MAX / 10;

		if (!h->dropped_logged)
			log_msg(LOG_WARNING, "history: %d rows wait for the database, dropping the "
					     "oldest", PENDING_MAX);
		h->dropped_logged = true;
		for (size_t i = 0; i < drop; i++)
			free(h->pending[i].zone);
		memmove(h->pending, h->pending + drop, (h->npending - drop) * sizeof(*h->pending));
		h->npending -= drop;
	}
	if (h->npending == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		struct row *p = realloc(h->pending, cap * sizeof(*p));

		if (!p) {
			free(r->zone);
			return;
		}
		h->pending = p;
		h->cap = cap;
	}
	h->pending[h->npending++] = *r;
}

/* Queues the zone's minute in progress as a finished row (lock held). */
static void minute_close(struct history *h, struct hzone *z)
{
	struct row r = {
		.kind = ROW_MINUTE, .t = z->minute, .n = z->n, .min = z->min,
		.mean = z->sum / z->n, .max = z->max, .light = z->light, .level = z->level,
	};

	if (!z->minute || !z->n)
		return;
	z->minute = 0;
	r.zone = strdup(z->name);
	if (r.zone)
		pending_add(h, &r);
}

static struct hzone *zone_get(struct history *h, const char *name)
{
	struct hzone *z;

	bool added;

	HASH_GET_STR(h->zones, name, name, z, added);
	if (z && added)
		z->light = z->level = -1;
	return z;
}

static void on_reading(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct history *h = ctx;
	const char *name = topic_zone(topic, h->cfg->topics_readings, h->readings_len);
	int64_t minute = (int64_t)time(NULL) / 60 * 60;
	struct hzone *z;
	double lux;

	if (!name || reading_parse(payload, len, h->cfg->readings_json_field, &lux) < 0)
		return;
	pthread_mutex_lock(&h->lock);
	z = zone_get(h, name);
	if (z) {
		if (z->minute != minute)
			minute_close(h, z);
		if (!z->minute) {
			z->minute = minute;
			z->n = 0;
			z->sum = 0;
			z->min = z->max = lux;
		}
		z->n++;
		z->sum += lux;
		z->min = lux < z->min ? lux : z->min;
		z->max = lux > z->max ? lux : z->max;
	}
	pthread_mutex_unlock(&h->lock);
}

static void on_order(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct history *h = ctx;
	const char *name = topic_zone(topic, h->cfg->topics_orders, h->orders_len);
	const char *on = h->cfg->orders_on_payload, *off = h->cfg->orders_off_payload;
	struct timespec ts;
	struct row r = { .kind = ROW_ORDER, .level = -1 };
	struct hzone *z;

	if (!name)
		return;
	if (len == strlen(on) && !memcmp(payload, on, len))
		r.light = 1;
	else if (len == strlen(off) && !memcmp(payload, off, len))
		r.light = 0;
	else
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	r.t = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	pthread_mutex_lock(&h->lock);
	z = zone_get(h, name);
	if (z)
		z->light = r.light;
	r.zone = strdup(name);
	if (r.zone)
		pending_add(h, &r);
	pthread_mutex_unlock(&h->lock);
}

/* An explanation tells the light (and a dimmed zone's level) of zones not yet ordered. */
static void on_state(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct history *h = ctx;
	const char *name = topic_zone(topic, h->cfg->topics_zone_state, h->state_len);
	struct json_tokener *tok;
	json_object *o = NULL, *v;
	int light = -1, level = -1;
	struct hzone *z;

	if (!name || !len || !(tok = json_tokener_new()))
		return;
	o = json_tokener_parse_ex(tok, payload, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return;
	}
	if (json_object_object_get_ex(o, "state", &v) && json_object_is_type(v, json_type_string))
		light = !strcmp(json_object_get_string(v), "ON") ? 1 :
			!strcmp(json_object_get_string(v), "OFF") ? 0 : -1;
	if (json_object_object_get_ex(o, "level", &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
		double d = nearest(json_object_get_double(v));

		/* a negative level is none, as one beyond int */
		level = d >= 0 && d <= INT_MAX ? (int)d : -1;
	}
	json_object_put(o);
	pthread_mutex_lock(&h->lock);
	z = zone_get(h, name);
	if (z) {
		z->light = light;
		z->level = level;
	}
	pthread_mutex_unlock(&h->lock);
}

/* --- the writer thread ------------------------------------------------------------------ */

static bool corrupt(int rc)
{
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

static void ids_clear(struct history *h)
{
	struct zid *i, *tmp;

	HASH_ITER(hh, h->ids, i, tmp) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash keeps the links */
		HASH_DEL(h->ids, i);
		free(i->name);
		free(i);
	}
}

static void db_close(struct history *h)
{
	sqlite3_close_v2(h->db);
	h->db = NULL;
	ids_clear(h);
}

/* Keeps a corrupt file (and its WAL) aside as PATH.corrupt-TIME, so that a new one starts. */
static void set_aside(struct history *h)
{
	static const char *const parts[] = { "", "-wal", "-shm" };
	char stamp[32], from[4096], to[4096 + 64];
	time_t now = time(NULL);
	struct tm tm;

	db_close(h);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (size_t i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s", h->path, parts[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%s%s", h->path, stamp, parts[i]);
		if (rename(from, to) < 0 && errno != ENOENT)
			log_msg(LOG_ERR, "history: cannot move %s aside: %s", from, strerror(errno));
	}
	log_msg(LOG_ERR, "history: %s is not a valid database; kept as %s.corrupt-%s, starting "
			 "a new one", h->path, h->path, stamp);
	h->gen++;
}

/* Says once that the database fails, and why; the caller retries after RETRY_S. */
static void failed(struct history *h, const char *what, int rc)
{
	/* the code's text, not sqlite3_errmsg: a ROLLBACK after the failure replaces that */
	int sys = h->db ? sqlite3_system_errno(h->db) : 0;
	char dir[4096];

	/* SQLite's last errno is its read-only retry's (ENOENT): ask the folder itself */
	snprintf(dir, sizeof(dir), "%s", h->path);
	if (rc == SQLITE_CANTOPEN && access(dirname(dir), W_OK) < 0)
		sys = errno;
	if (!h->failing)
		log_msg(LOG_ERR, "history: %s %s: %s%s%s%s; the page works on, retrying every %d s",
			what, h->path, sqlite3_errstr(rc), sys ? " (" : "", sys ? strerror(sys) : "",
			sys ? ")" : "", RETRY_S);
	h->failing = true;
	h->retry_at = (int64_t)time(NULL) + RETRY_S;
}

/* Opens the database; a corrupt one is set aside and a new one opened in its place. */
static int db_open(struct history *h)
{
	int rc = SQLITE_OK;

	for (int tries = 0; tries < 2; tries++) {
		rc = sqlite3_open_v2(h->path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
							      SQLITE_OPEN_NOMUTEX, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_busy_timeout(h->db, 500);
			rc = sqlite3_exec(h->db, SCHEMA, NULL, NULL, NULL);
		}
		if (rc == SQLITE_OK)
			return 0;
		if (!corrupt(rc))
			break;
		set_aside(h);
	}
	failed(h, "cannot open", rc);
	db_close(h);
	return -EIO;
}

static int zone_id(struct history *h, const char *name, int64_t *id)
{
	struct zid *z;
	sqlite3_stmt *st = NULL;
	int rc;

	*id = 0;
	HASH_FIND_STR(h->ids, name, z);
	if (z) {
		*id = z->id;
		return SQLITE_OK;
	}
	rc = sqlite3_prepare_v2(h->db, "INSERT INTO zones(name) VALUES(?1) ON CONFLICT(name)"
				       " DO UPDATE SET name = name RETURNING id", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	z = calloc(1, sizeof(*z));
	if (z && (z->name = strdup(name))) {
		z->id = *id;
		HASH_ADD_KEYPTR(hh, h->ids, z->name, strlen(z->name), z);
	} else {
		free(z);
	}
	return SQLITE_OK;
}

static int row_write(struct history *h, sqlite3_stmt *minute, sqlite3_stmt *order,
		     const struct row *r)
{
	sqlite3_stmt *st = r->kind == ROW_MINUTE ? minute : order;
	int64_t id = 0;
	int rc = zone_id(h, r->zone, &id);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, r->t);
	if (r->kind == ROW_MINUTE) {
		sqlite3_bind_int(st, 3, (int)r->n);
		sqlite3_bind_int64(st, 4, tenths(r->min));
		sqlite3_bind_int64(st, 5, tenths(r->mean));
		sqlite3_bind_int64(st, 6, tenths(r->max));
		if (r->light < 0)
			sqlite3_bind_null(st, 7);
		else
			sqlite3_bind_int(st, 7, r->light);
		if (r->level < 0)
			sqlite3_bind_null(st, 8);
		else
			sqlite3_bind_int(st, 8, r->level);
	} else {
		sqlite3_bind_int(st, 3, r->light);
	}
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Writes `rows` in one transaction. Returns an SQLite code. */
static int batch_write(struct history *h, const struct row *rows, size_t n)
{
	sqlite3_stmt *minute = NULL, *order = NULL;
	int rc = sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(h->db, UPSERT_MINUTE, -1, &minute, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(h->db, "INSERT OR IGNORE INTO orders(zone, t, light)"
					       " VALUES(?1, ?2, ?3)", -1, &order, NULL);
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++)
		rc = row_write(h, minute, order, &rows[i]);
	sqlite3_finalize(minute);
	sqlite3_finalize(order);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
		ids_clear(h); /* ids inserted by the rolled back transaction are gone */
	}
	return rc;
}

/* Deletes what is older than history_days. */
static int prune(struct history *h, int64_t now)
{
	int64_t cutoff = now - (int64_t)h->cfg->web_history_days * 86400;
	char sql[256];
	int rc;

	/* "zone IN (...)" makes SQLite walk the primary key zone by zone, not the whole table */
	snprintf(sql, sizeof(sql),
		 "DELETE FROM minutes WHERE zone IN (SELECT id FROM zones) AND t < %lld;"
		 "DELETE FROM orders WHERE zone IN (SELECT id FROM zones) AND t < %lld;",
		 (long long)cutoff, (long long)cutoff * 1000);
	rc = sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
	else
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Puts rows that could not be written back in front of the queue, to be tried again. */
static void requeue(struct history *h, struct row *rows, size_t n)
{
	struct row *newer;
	size_t nnewer;

	pthread_mutex_lock(&h->lock);
	newer = h->pending;
	nnewer = h->npending;
	h->pending = rows;
	h->npending = h->cap = n;
	for (size_t i = 0; i < nnewer; i++)
		pending_add(h, &newer[i]);
	free(newer);
	pthread_mutex_unlock(&h->lock);
}

/* One tick: closes finished minutes, writes the queue, prunes when due. */
static void tick(struct history *h, bool final)
{
	int64_t now = (int64_t)time(NULL), minute = now / 60 * 60;
	struct hzone *z, *tmp;
	struct row *rows;
	size_t n;
	int rc;

	pthread_mutex_lock(&h->lock);
	HASH_ITER(hh, h->zones, z, tmp)
		if (z->minute && (final || z->minute < minute))
			minute_close(h, z);
	rows = h->pending;
	n = h->npending;
	h->pending = NULL;
	h->npending = h->cap = 0;
	pthread_mutex_unlock(&h->lock);

	if (!h->db && (final || now >= h->retry_at))
		db_open(h);
	if (!h->db) {
		requeue(h, rows, n);
		return;
	}
	rc = n ? batch_write(h, rows, n) : SQLITE_OK;
	if (rc == SQLITE_OK && now >= h->prune_at) {
		rc = prune(h, now);
		if (rc == SQLITE_OK)
			h->prune_at = now + PRUNE_EVERY_S;
	}
	if (corrupt(rc)) {
		set_aside(h);
		requeue(h, rows, n);
		return;
	}
	if (rc != SQLITE_OK) {
		failed(h, "cannot write", rc);
		/* a read-only file or a full disk may need a new connection once it is fixed */
		db_close(h);
		requeue(h, rows, n);
		return;
	}
	if (h->failing)
		log_msg(LOG_NOTICE, "history: writing to %s again", h->path);
	h->failing = false;
	h->dropped_logged = false;
	for (size_t i = 0; i < n; i++)
		free(rows[i].zone);
	free(rows);
}

static void *writer_main(void *arg)
{
	struct history *h = arg;
	struct pollfd p = { .fd = h->wake, .events = POLLIN };

	for (;;) {
		int r = poll(&p, 1, TICK_MS);

		if (r > 0)
			break;
		tick(h, false);
	}
	tick(h, true);
	db_close(h);
	return NULL;
}

/* --- setup and requests ------------------------------------------------------------------ */

int history_new(const struct config *cfg, struct bus *bus, struct history **out)
{
	struct history *h;
	char filter[512];
	int rc = 0;

	*out = NULL;
	if (!cfg->web_history[0])
		return 0;
	pthread_once(&sqlite_once, sqlite_open);
	if (!sqlite.ok)
		return -ELIBACC;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->cfg = cfg;
	h->wake = -1;
	pthread_mutex_init(&h->lock, NULL);
	h->path = strdup(cfg->web_history);
	h->readings_len = strlen(cfg->topics_readings);
	h->orders_len = strlen(cfg->topics_orders);
	h->state_len = strlen(cfg->topics_zone_state);
	h->wake = eventfd(0, EFD_CLOEXEC);
	if (!h->path || h->wake < 0)
		rc = h->path ? -errno : -ENOMEM;
	/* "T/#" also matches T itself, the default zone */
	snprintf(filter, sizeof(filter), "%s/#", cfg->topics_readings);
	if (rc == 0)
		rc = bus_tap(bus, filter, on_reading, h);
	snprintf(filter, sizeof(filter), "%s/#", cfg->topics_orders);
	if (rc == 0)
		rc = bus_tap(bus, filter, on_order, h);
	snprintf(filter, sizeof(filter), "%s/#", cfg->topics_zone_state);
	if (rc == 0 && cfg->topics_zone_state[0])
		rc = bus_tap(bus, filter, on_state, h);
	if (rc == 0)
		rc = -pthread_create(&h->writer, NULL, writer_main, h);
	if (rc < 0) {
		if (h->wake >= 0)
			close(h->wake);
		free(h->path);
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void history_free(struct history *h)
{
	struct hzone *z, *tmp;
	uint64_t one = 1;

	if (!h)
		return;
	if (write(h->wake, &one, sizeof(one)) == sizeof(one))
		pthread_join(h->writer, NULL);
	close(h->wake);
	sqlite3_close_v2(h->reader);
	HASH_ITER(hh, h->zones, z, tmp) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash keeps the links */
		HASH_DEL(h->zones, z);
		free(z->name);
		free(z);
	}
	for (size_t i = 0; i < h->npending; i++)
		free(h->pending[i].zone);
	free(h->pending);
	pthread_mutex_destroy(&h->lock);
	free(h->path);
	free(h);
}

static json_object *light_json(int light)
{
	return light < 0 ? NULL : json_object_new_string(light ? "ON" : "OFF");
}

static json_object *minute_json(int64_t t, int n, double min, double mean, double max,
				int light, int level)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "t", json_object_new_int64(t));
	json_object_object_add(o, "n", json_object_new_int(n));
	/* tenths of lux, as stored: the minute in progress reads the same as once written */
	json_object_object_add(o, "min", json_object_new_double(nearest(min * 10) / 10));
	json_object_object_add(o, "mean", json_object_new_double(nearest(mean * 10) / 10));
	json_object_object_add(o, "max", json_object_new_double(nearest(max * 10) / 10));
	json_object_object_add(o, "light", light_json(light));
	json_object_object_add(o, "level", level < 0 ? NULL : json_object_new_int(level));
	return o;
}

static int reader_open(struct history *h)
{
	unsigned gen = h->gen;
	int rc;

	if (h->reader && h->reader_gen == gen)
		return SQLITE_OK;
	sqlite3_close_v2(h->reader);
	h->reader = NULL;
	rc = sqlite3_open_v2(h->path, &h->reader, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc == SQLITE_OK)
		sqlite3_busy_timeout(h->reader, 1000);
	if (rc != SQLITE_OK) {
		sqlite3_close_v2(h->reader);
		h->reader = NULL;
	}
	h->reader_gen = gen;
	return rc;
}

/* What limits a read to the rows of one zone (?1) from one time (?2) on, in time order. */
#define OF_ZONE_FROM " WHERE zone = (SELECT id FROM zones WHERE name = ?1) AND t >= ?2 ORDER BY t"

/* Prepares `sql` (which ends in OF_ZONE_FROM) into *st for `zone` and `from`. SQLite's code. */
static int rows_select(struct history *h, const char *sql, const char *zone, int64_t from,
		       sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(h->reader, sql, -1, st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(*st, 1, zone, -1, SQLITE_STATIC);
		sqlite3_bind_int64(*st, 2, from);
	}
	return rc;
}

/* Appends the database's rows of `zone` since `from` to `minutes` and `orders`. */
static int rows_read(struct history *h, const char *zone, int64_t from, json_object *minutes,
		     json_object *orders)
{
	sqlite3_stmt *st = NULL;
	int rc = reader_open(h);

	if (rc == SQLITE_OK)
		rc = rows_select(h,
				 "SELECT t, n, min, mean, max, light, level FROM minutes" OF_ZONE_FROM,
				 zone, from, &st);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			json_object_array_add(
				minutes,
				minute_json(sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
					    (double)sqlite3_column_int64(st, 2) / 10,
					    (double)sqlite3_column_int64(st, 3) / 10,
					    (double)sqlite3_column_int64(st, 4) / 10,
					    sqlite3_column_type(st, 5) == SQLITE_NULL ?
						    -1 : sqlite3_column_int(st, 5),
					    sqlite3_column_type(st, 6) == SQLITE_NULL ?
						    -1 : sqlite3_column_int(st, 6)));
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == SQLITE_DONE)
		/* orders are timed in milliseconds */
		rc = rows_select(h, "SELECT t, light FROM orders" OF_ZONE_FROM, zone, from * 1000,
				 &st);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "t", json_object_new_double(
							       (double)sqlite3_column_int64(st, 0) /
							       1000));
			json_object_object_add(o, "order", light_json(sqlite3_column_int(st, 1)));
			json_object_array_add(orders, o);
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE) {
		/* a database not written yet has no tables: no rows, no error */
		if (rc == SQLITE_ERROR || rc == SQLITE_CANTOPEN)
			return 0;
		log_msg(LOG_WARNING, "history: cannot read %s: %s", h->path, sqlite3_errstr(rc));
		json_object_array_del_idx(minutes, 0, json_object_array_length(minutes));
		json_object_array_del_idx(orders, 0, json_object_array_length(orders));
		sqlite3_close_v2(h->reader);
		h->reader = NULL;
		return -EIO;
	}
	return 0;
}

int history_query(struct history *h, const char *zone, int hours, char **json, size_t *len)
{
	int64_t from = (int64_t)time(NULL) - (int64_t)hours * 3600;
	json_object *o = json_object_new_object(), *minutes = json_object_new_array(),
		    *orders = json_object_new_array();
	struct hzone *z;
	const char *text;
	int rc;

	*json = NULL;
	rc = rows_read(h, zone, from, minutes, orders);
	if (rc < 0) /* once more on a new connection: the writer may have been switching modes */
		rc = rows_read(h, zone, from, minutes, orders);
	/* the minute in progress, and orders not written yet */
	pthread_mutex_lock(&h->lock);
	HASH_FIND_STR(h->zones, zone, z);
	if (rc == 0 && z && z->minute && z->n)
		json_object_array_add(minutes, minute_json(z->minute, (int)z->n, z->min,
							   z->sum / z->n, z->max, z->light,
							   z->level));
	for (size_t i = 0; rc == 0 && i < h->npending; i++) {
		const struct row *r = &h->pending[i];

		if (strcmp(r->zone, zone) != 0 || r->t < from * (r->kind == ROW_ORDER ? 1000 : 1))
			continue;
		if (r->kind == ROW_MINUTE) {
			json_object_array_add(minutes, minute_json(r->t, (int)r->n, r->min,
								   r->mean, r->max, r->light,
								   r->level));
		} else {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "t", json_object_new_double((double)r->t / 1000));
			json_object_object_add(e, "order", light_json(r->light));
			json_object_array_add(orders, e);
		}
	}
	pthread_mutex_unlock(&h->lock);
	json_object_object_add(o, "zone", json_object_new_string(zone));
	json_object_object_add(o, "hours", json_object_new_int(hours));
	json_object_object_add(o, "minutes", minutes);
	json_object_object_add(o, "orders", orders);
	if (rc == 0) {
		text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		*len = strlen(text);
		*json = strdup(text);
		if (!*json)
			rc = -ENOMEM;
	}
	json_object_put(o);
	return rc;
}
