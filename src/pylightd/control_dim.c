/* control_dim.c -- carries out a dimmed zone's level: the levels topic, published and seen */
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "control_impl.h"
#include "dim.h"
#include "log.h"
#include "number.h"

void control_dim_publish(struct control *c, struct zone *z)
{
	const struct config *cfg = c->cfg;
	int level = decide_level(&z->st);
	const char *topic;
	char payload[64];
	int n;

	if (level < 0 || !z->own.mine ||
	    !(topic = control_zone_topic(c, cfg->topics_levels, z->name)) ||
	    (n = dim_payload(cfg->orders_level_payload, level, payload, sizeof(payload))) < 0)
		return;
	c->out.publish(c->out.ctx, topic, payload, (size_t)n, cfg->orders_retain);
	z->own.level_seen = (int8_t)level;
	log_zone(LOG_INFO, z->name, "zone '%s': level %d", z->name, level);
}

/* A z2m payload's level: OFF is 0, else its brightness 0..254 as a percent; -1 if neither. */
static int z2m_level(const void *payload, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, payload, (int)len) : NULL;
	json_object *v;
	int level = -1;

	json_tokener_free(tok);
	if (json_object_object_get_ex(o, "state", &v) && json_object_is_type(v, json_type_string) &&
	    !strcmp(json_object_get_string(v), "OFF"))
		level = 0;
	else if (json_object_object_get_ex(o, "brightness", &v) &&
		 json_object_is_type(v, json_type_int))
		level = json_object_get_int(v) < 0 ? -1 : (int)(json_object_get_int(v) / 2.54 + 0.5);
	json_object_put(o);
	return level < 0 || level > 100 ? -1 : level;
}

void control_dim_seen(struct control *c, const char *zone, const void *payload, size_t len)
{
	struct zone *z = zones_find(c->zones, zone);
	double v;
	int level;

	if (!z)
		return;
	if (c->cfg->orders_level_payload == LEVEL_PAYLOAD_Z2M)
		level = z2m_level(payload, len);
	else
		level = number_parse((const char *)payload, len, &v) == 0 && v >= 0 && v <= 100 && v == floor(v) ?
				(int)v : -1;
	if (level >= 0)
		z->own.level_seen = (int8_t)level;
}
