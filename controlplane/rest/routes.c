/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>

#include "controlplane/rest/routes.h"

int
routes_add_schemas(struct jschema_registry *r, const char *json, const char *what, char *err,
		   size_t errlen)
{
	json_error_t jerr;
	const char *name;
	json_t *all, *schema;
	int ret = 0;

	all = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(all)) {
		snprintf(err, errlen, "%s schemas: line %d: %s", what, jerr.line,
			 all ? "not an object" : jerr.text);
		json_decref(all);
		return -EINVAL;
	}
	json_object_foreach(all, name, schema) {
		ret = jschema_add(r, name, schema, err, errlen);
		if (ret < 0)
			break;
	}
	json_decref(all);
	return ret;
}
