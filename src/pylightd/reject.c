/* reject.c -- the names of the reasons pylightd refuses an input for */
#include "reject.h"

static const char *const names[REJECT_REASONS] = {
	[REJECT_PAYLOAD_TOO_LARGE] = "payload_too_large",
	[REJECT_BAD_READING] = "bad_reading",
	[REJECT_NOT_A_SENSOR] = "not_a_sensor",
	[REJECT_MAX_ZONES] = "max_zones",
	[REJECT_OUT_OF_MEMORY] = "out_of_memory",
	[REJECT_BAD_OVERRIDE] = "bad_override",
	[REJECT_NOT_DIMMABLE] = "not_dimmable",
	[REJECT_BAD_LAMP_REPORT] = "bad_lamp_report",
	[REJECT_BAD_PRESENCE] = "bad_presence",
	[REJECT_NO_ZONE] = "no_zone",
};

const char *reject_name(enum reject_reason r)
{
	/* unsigned: a negative value from a bad cast is out of range too */
	return (unsigned)r < REJECT_REASONS && names[r] ? names[r] : "unknown";
}
