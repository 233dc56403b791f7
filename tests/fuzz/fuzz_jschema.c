/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: JSON Schema validation on arbitrary request bodies, as
 * the REST gateway receives them, against a fixed registry of realistic
 * schemas; and the same bytes compiled as a schema, which must be refused
 * with a reason or compile and validate without crashing.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/jschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *name, *schema;
} fixed[] = {
	{"Bandwidth",
	 "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"cir\"],"
	 " \"properties\":{\"cir\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000000000},"
	 "  \"pir\":{\"type\":\"integer\",\"exclusiveMinimum\":0,\"multipleOf\":8},"
	 "  \"mode\":{\"enum\":[\"rfc2698\",\"rfc4115\"]}}}"},
	{"Match",
	 "{\"oneOf\":[{\"type\":\"object\",\"required\":[\"mac\"],\"additionalProperties\":false,"
	 "  \"properties\":{\"mac\":{\"type\":\"string\",\"pattern\":\"^([0-9a-f]{2}:){5}[0-9a-f]{2}$\"}}},"
	 " {\"type\":\"object\",\"required\":[\"prefixes\"],\"additionalProperties\":false,"
	 "  \"properties\":{\"prefixes\":{\"type\":\"array\",\"minItems\":1,\"uniqueItems\":true,"
	 "   \"items\":{\"anyOf\":[{\"format\":\"ipv4\"},{\"format\":\"ipv6\"}],\"type\":\"string\"}}}}]}"},
	{"Subscriber",
	 "{\"type\":\"object\",\"required\":[\"name\",\"status\"],\"additionalProperties\":false,"
	 " \"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64,"
	 "   \"pattern\":\"^[\\\\w.-]+$\"},"
	 "  \"status\":{\"enum\":[\"active\",\"suspended\"]},"
	 "  \"since\":{\"type\":\"string\",\"format\":\"date-time\"},"
	 "  \"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
	 "  \"contact\":{\"type\":[\"string\",\"null\"],\"format\":\"email\"},"
	 "  \"up\":{\"$ref\":\"#/components/schemas/Bandwidth\"},"
	 "  \"down\":{\"$ref\":\"#/components/schemas/Bandwidth\"},"
	 "  \"match\":{\"$ref\":\"#/components/schemas/Match\"},"
	 "  \"vlans\":{\"type\":\"array\",\"maxItems\":2,"
	 "   \"items\":{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":4094}}},"
	 "  \"tags\":{\"type\":\"object\",\"propertyNames\":{\"pattern\":\"^[a-z]+$\"},"
	 "   \"patternProperties\":{\"^x\":{\"type\":\"string\"}},\"additionalProperties\":{\"type\":\"integer\"}},"
	 "  \"children\":{\"type\":\"array\",\"contains\":{\"const\":{\"kind\":\"root\"}},"
	 "   \"items\":{\"$ref\":\"#/$defs/node\"}}},"
	 " \"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"kind\":{\"type\":\"string\"},"
	 "   \"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}},"
	 "   \"if\":{\"required\":[\"kind\"]},\"then\":{\"not\":{\"required\":[\"x\"]}},"
	 "   \"else\":{\"minProperties\":1}}}}"},
};

static struct jschema_registry *reg;

static struct jschema_registry *
registry(void)
{
	char err[512];
	size_t i;

	if (reg != NULL)
		return reg;
	reg = jschema_registry_new();
	if (reg == NULL)
		abort();
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		json_t *s = json_loads(fixed[i].schema, 0, NULL);

		if (s == NULL || jschema_add(reg, fixed[i].name, s, err, sizeof(err)) != 0)
			abort();
		json_decref(s);
	}
	if (jschema_registry_check(reg, err, sizeof(err)) != 0)
		abort();
	return reg;
}

/* An error must say where (a JSON pointer), which keyword, and why. */
static void
check_verdict(int r, const struct jschema_error *e)
{
	if (r == 0)
		return;
	if (r != -EINVAL || e->keyword[0] == '\0' || e->message[0] == '\0' ||
	    (e->pointer[0] != '\0' && e->pointer[0] != '/'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct jschema_registry *r = registry();
	struct jschema_registry *own;
	struct jschema_error e;
	char err[512];
	json_t *j;
	size_t i;

	j = json_loadb((const char *)data, size,
		       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (j == NULL)
		return 0;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_verdict(jschema_validate(r, fixed[i].name, j, &e), &e);

	/* The input as a schema: refused with a reason, or usable. */
	own = jschema_registry_new();
	if (own == NULL)
		abort();
	err[0] = '\0';
	if (jschema_add(own, "fuzz", j, err, sizeof(err)) == 0) {
		if (jschema_registry_check(own, err, sizeof(err)) != 0 && err[0] == '\0')
			abort();
		check_verdict(jschema_validate(own, "fuzz", j, &e), &e);
		if (json_object_get(j, "default") != NULL)
			check_verdict(jschema_validate(own, "fuzz", json_object_get(j, "default"), &e), &e);
	} else if (err[0] == '\0') {
		abort();
	}
	jschema_registry_free(own);
	json_decref(j);
	return 0;
}
