/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON Schema validation: the official JSON Schema Test Suite (draft 7 files,
 * directory given as argv[1]) for every keyword we support, then what the
 * gateway's users see: refusals at compile, error pointers and messages,
 * references across the registry, the depth limit, lengths in code points.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/jschema.h"

static const char *suite_dir;

/* ---- the JSON Schema Test Suite ---- */

/* Files named after the keywords we support; format files only where the suite has them. */
static const struct {
	const char *file;
	bool optional;
} suite_files[] = {
	{"type.json", false},
	{"enum.json", false},
	{"const.json", false},
	{"multipleOf.json", false},
	{"maximum.json", false},
	{"exclusiveMaximum.json", false},
	{"minimum.json", false},
	{"exclusiveMinimum.json", false},
	{"maxLength.json", false},
	{"minLength.json", false},
	{"pattern.json", false},
	{"items.json", false},
	{"maxItems.json", false},
	{"minItems.json", false},
	{"uniqueItems.json", false},
	{"contains.json", false},
	{"maxProperties.json", false},
	{"minProperties.json", false},
	{"required.json", false},
	{"properties.json", false},
	{"patternProperties.json", false},
	{"additionalProperties.json", false},
	{"propertyNames.json", false},
	{"allOf.json", false},
	{"anyOf.json", false},
	{"oneOf.json", false},
	{"not.json", false},
	{"if-then-else.json", false},
	{"ref.json", false},
	{"definitions.json", false},
	{"boolean_schema.json", false},
	{"default.json", false},
	{"optional/format/date-time.json", true},
	{"optional/format/date.json", true},
	{"optional/format/time.json", true},
	{"optional/format/email.json", true},
	{"optional/format/ipv4.json", true},
	{"optional/format/ipv6.json", true},
	{"optional/format/uuid.json", true},
	{"optional/format/uri.json", true},
};

/*
 * Where the draft 7 suite and our draft 2020-12 semantics disagree, on
 * purpose: the verdict we give is the opposite of the file's.
 */
static const struct {
	const char *file, *group, *test, *why;
} differences[] = {
	{"ref.json", "ref overrides any sibling keywords", "ref valid, maxItems ignored",
	 "draft 2020-12 core §8.2.3.1: $ref applies beside its siblings, so maxItems applies"},
};

static bool
expected_differently(const char *file, const char *group, const char *test, const char **why)
{
	size_t i;

	for (i = 0; i < sizeof(differences) / sizeof(differences[0]); i++)
		if (strcmp(differences[i].file, file) == 0 && strcmp(differences[i].group, group) == 0 &&
		    strcmp(differences[i].test, test) == 0) {
			*why = differences[i].why;
			return true;
		}
	return false;
}

static bool
is_supported_keyword(const char *kw)
{
	const char *p = JSCHEMA_KEYWORDS;
	size_t n = strlen(kw);

	while ((p = strstr(p, kw)) != NULL) {
		if ((p == JSCHEMA_KEYWORDS || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return strncmp(kw, "x-", 2) == 0;
}

/*
 * A refusal is allowed only when it names something outside the supported
 * list: an unknown keyword, the array form of items, a remote $ref, a nested $id.
 */
static bool
refusal_allowed(const char *err)
{
	const char *kw = strstr(err, "unsupported keyword '");
	char name[64];

	if (kw != NULL) {
		kw += strlen("unsupported keyword '");
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(kw, "'"), kw);
		return !is_supported_keyword(name);
	}
	return strstr(err, "the array form of 'items'") != NULL || strstr(err, "remote $ref") != NULL ||
	       strstr(err, "$id is only accepted at a schema's root") != NULL;
}

struct figures {
	unsigned groups, refused, tests, passed, differ, wrong;
};

static void
run_group(const char *file, json_t *group, struct figures *f)
{
	const char *desc = json_string_value(json_object_get(group, "description"));
	json_t *tests = json_object_get(group, "tests"), *t;
	struct jschema_registry *r = jschema_registry_new();
	struct jschema_error e;
	char err[1024];
	size_t i;

	assert_non_null(r);
	if (jschema_add(r, "suite", json_object_get(group, "schema"), err, sizeof(err)) != 0 ||
	    jschema_registry_check(r, err, sizeof(err)) != 0) {
		f->refused++;
		printf("  refused: \"%s\": %.200s\n", desc, err);
		if (!refusal_allowed(err)) {
			printf("  WRONG: the refusal names nothing outside the supported list\n");
			f->wrong++;
		}
		jschema_registry_free(r);
		return;
	}
	f->groups++;
	json_array_foreach(tests, i, t) {
		const char *tdesc = json_string_value(json_object_get(t, "description")), *why;
		bool want = json_is_true(json_object_get(t, "valid")), got;

		got = jschema_validate(r, "suite", json_object_get(t, "data"), &e) == 0;
		f->tests++;
		if (expected_differently(file, desc, tdesc, &why)) {
			want = !want;
			f->differ++;
			printf("  expected otherwise: \"%s\" / \"%s\": %s\n", desc, tdesc, why);
		}
		if (got == want) {
			f->passed++;
			continue;
		}
		f->wrong++;
		printf("  WRONG: \"%s\" / \"%s\": %s, expected %s\n", desc, tdesc,
		       got ? "valid" : "invalid", want ? "valid" : "invalid");
		if (!got)
			printf("    ('%s' %s: %s)\n", e.pointer, e.keyword, e.message);
	}
	jschema_registry_free(r);
}

static void
test_suite(void **state)
{
	unsigned wrong = 0, missing = 0;
	char path[4096];
	struct stat st;
	size_t i, g;

	if (stat(suite_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		fail_msg("JSON Schema Test Suite not found at %s: install the Debian package "
			 "json-schema-test-suite",
			 suite_dir);
	for (i = 0; i < sizeof(suite_files) / sizeof(suite_files[0]); i++) {
		struct figures f = {0};
		json_error_t jerr;
		json_t *groups, *group;

		snprintf(path, sizeof(path), "%s/%s", suite_dir, suite_files[i].file);
		if (stat(path, &st) != 0) {
			printf("%s: not in this version of the suite\n", suite_files[i].file);
			missing += !suite_files[i].optional;
			continue;
		}
		groups = json_load_file(path, 0, &jerr);
		if (groups == NULL)
			fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
		printf("%s:\n", suite_files[i].file);
		json_array_foreach(groups, g, group)
			run_group(suite_files[i].file, group, &f);
		printf("%s: %u groups run, %u refused, %u/%u tests passed%s\n", suite_files[i].file,
		       f.groups, f.refused, f.passed, f.tests,
		       f.differ ? " (counting the 2020-12 differences above)" : "");
		wrong += f.wrong;
		json_decref(groups);
	}
	assert_int_equal(missing, 0);
	assert_int_equal(wrong, 0);
}

/* ---- helpers ---- */

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

	if (j == NULL)
		fail_msg("bad JSON in the test: %s: %s", text, jerr.text);
	return j;
}

static int
add(struct jschema_registry *r, const char *name, const char *schema, char *err, size_t errlen)
{
	json_t *s = parse(schema);
	int ret = jschema_add(r, name, s, err, errlen);

	json_decref(s);
	return ret;
}

static struct jschema_registry *
one(const char *schema)
{
	struct jschema_registry *r = jschema_registry_new();
	char err[512];

	assert_non_null(r);
	if (add(r, "s", schema, err, sizeof(err)) != 0)
		fail_msg("%s\n  refused: %s", schema, err);
	if (jschema_registry_check(r, err, sizeof(err)) != 0)
		fail_msg("%s\n  check: %s", schema, err);
	return r;
}

static void
refused(const char *schema, const char *expect)
{
	struct jschema_registry *r = jschema_registry_new();
	char err[512];

	assert_int_equal(add(r, "customer", schema, err, sizeof(err)), -EINVAL);
	if (strstr(err, expect) == NULL)
		fail_msg("%s\n  expected ...%s...\n  got      %s", schema, expect, err);
	/* The refused schema left nothing behind. */
	assert_null(jschema_get(r, "customer"));
	jschema_registry_free(r);
}

static void
valid(const struct jschema_registry *r, const char *name, const char *instance)
{
	json_t *j = parse(instance);
	struct jschema_error e;

	if (jschema_validate(r, name, j, &e) != 0)
		fail_msg("%s\n  invalid: '%s' %s: %s", instance, e.pointer, e.keyword, e.message);
	json_decref(j);
}

static void
invalid(const struct jschema_registry *r, const char *name, const char *instance,
	const char *pointer, const char *keyword, const char *message)
{
	json_t *j = parse(instance);
	struct jschema_error e;

	if (jschema_validate(r, name, j, &e) != -EINVAL)
		fail_msg("%s\n  valid, expected '%s' %s: %s", instance, pointer, keyword, message);
	if (strcmp(e.pointer, pointer) != 0 || strcmp(e.keyword, keyword) != 0 ||
	    strstr(e.message, message) == NULL)
		fail_msg("%s\n  expected '%s' %s: ...%s...\n  got      '%s' %s: %s", instance, pointer,
			 keyword, message, e.pointer, e.keyword, e.message);
	json_decref(j);
}

/* ---- what users see ---- */

static void
test_refusals(void **state)
{
	refused("{\"properties\":{\"age\":{\"type\":\"integer\",\"dependentSchemas\":{}}}}",
		"customer: /properties/age/dependentSchemas: unsupported keyword 'dependentSchemas'");
	refused("{\"dependencies\":{\"a\":[\"b\"]}}", "customer: /dependencies: unsupported keyword");
	refused("{\"items\":[{\"type\":\"integer\"}]}", "the array form of 'items'");
	refused("{\"$ref\":\"http://example.com/s.json\"}", "remote $ref");
	refused("{\"$ref\":\"#foo\"}", "$anchor");
	refused("{\"$defs\":{\"a\":{\"$id\":\"a\"}}}", "customer: /$defs/a/$id: $id is only accepted");
	refused("{\"format\":\"hostname\"}", "unsupported format 'hostname'");
	refused("{\"pattern\":\"(\"}", "customer: /pattern: pattern '(' is refused");
	refused("{\"pattern\":\"\\\\p{L}\"}", "unsupported escape '\\p'");
	refused("{\"patternProperties\":{\"[\":{}}}", "patternProperties key '[' is refused");
	refused("{\"pattern\":\"a++\"}", "nothing to repeat");
	refused("{\"pattern\":\"(?:a)\"}", "'(?' groups");
	refused("{\"pattern\":\"[[:alpha:]]\"}", "POSIX classes");
	refused("{\"pattern\":\"((a{100}){100}){100}\"}", "too complex");
	refused("{\"type\":\"int\"}", "customer: /type: 'type' must be one of");
	refused("{\"minLength\":-1}", "'minLength' must be a non-negative integer");
	refused("{\"multipleOf\":0}", "'multipleOf' must be greater than 0");
	refused("{\"required\":\"name\"}", "'required' must be an array of strings");
	refused("{\"anyOf\":[]}", "'anyOf' must be a non-empty array of schemas");
	refused("{\"properties\":{\"a\":3}}", "customer: /properties/a: a schema must be an object");
	refused("{\"$ref\":\"#/$defs/missing\"}", "$ref '#/$defs/missing' does not point to a schema");
	refused("{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"frobnicate\":1}}}",
		"/$defs/a/frobnicate: unsupported keyword");
	refused("{\"$ref\":\"#/properties\",\"properties\":{\"foo\":{}}}",
		"customer: /properties/foo: unsupported keyword 'foo'");
}

static void
test_accepted_annotations(void **state)
{
	struct jschema_registry *r = one(
		"{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"urn:x\","
		"\"$comment\":\"c\",\"title\":\"t\",\"description\":\"d\",\"default\":{},"
		"\"examples\":[{}],\"x-internal\":{\"anything\":[1]},\"deprecated\":false,"
		"\"properties\":{\"id\":{\"type\":\"string\",\"readOnly\":true,\"x-order\":1},"
		"\"secret\":{\"writeOnly\":true}}}");

	valid(r, "s", "{\"id\":\"a\"}");
	invalid(r, "s", "{\"id\":1}", "/id", "type", "must be a string");
	jschema_registry_free(r);
}

static const char subscriber[] =
	"{\"type\":\"object\",\"additionalProperties\":false,"
	" \"required\":[\"name\",\"status\"],"
	" \"properties\":{"
	"  \"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":32,\"pattern\":\"^[a-z][a-z0-9-]*$\"},"
	"  \"status\":{\"enum\":[\"active\",\"suspended\"]},"
	"  \"bandwidth\":{\"type\":\"object\",\"properties\":{"
	"    \"cir\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100},"
	"    \"burst\":{\"type\":\"integer\",\"exclusiveMinimum\":0,\"multipleOf\":8}}},"
	"  \"vlans\":{\"type\":\"array\",\"maxItems\":2,\"uniqueItems\":true,"
	"    \"items\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":4094}},"
	"  \"since\":{\"type\":\"string\",\"format\":\"date-time\"},"
	"  \"match\":{\"oneOf\":["
	"    {\"type\":\"object\",\"required\":[\"mac\"],\"properties\":{\"mac\":{\"type\":\"string\"}},"
	"     \"additionalProperties\":false},"
	"    {\"type\":\"object\",\"required\":[\"prefix\"],\"properties\":{\"prefix\":{\"type\":\"string\"}},"
	"     \"additionalProperties\":false}]},"
	"  \"contact\":{\"anyOf\":[{\"type\":\"string\",\"format\":\"email\"},{\"type\":\"null\"}]}}}";

static void
test_errors(void **state)
{
	struct jschema_registry *r = one(subscriber);

	valid(r, "s", "{\"name\":\"a1\",\"status\":\"active\",\"bandwidth\":{\"cir\":100.0,\"burst\":16},"
		      "\"vlans\":[10,20],\"since\":\"2024-02-29T23:59:60Z\",\"match\":{\"mac\":\"x\"},"
		      "\"contact\":null}");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"bandwidth\":{\"cir\":1.5}}",
		"/bandwidth/cir", "type", "must be an integer");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"bandwidth\":{\"cir\":101}}",
		"/bandwidth/cir", "maximum", "must be at most 100");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"bandwidth\":{\"burst\":12}}",
		"/bandwidth/burst", "multipleOf", "must be a multiple of 8");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"bandwidth\":{\"burst\":0}}",
		"/bandwidth/burst", "exclusiveMinimum", "must be greater than 0");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"foo\":1}", "/foo",
		"additionalProperties", "unknown field 'foo'");
	invalid(r, "s", "{\"status\":\"active\"}", "/name", "required", "missing required field 'name'");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"gone\"}", "/status", "enum",
		"must be one of: active, suspended");
	invalid(r, "s", "{\"name\":\"A\",\"status\":\"active\"}", "/name", "pattern",
		"must match the pattern ^[a-z][a-z0-9-]*$");
	invalid(r, "s", "{\"name\":\"\",\"status\":\"active\"}", "/name", "minLength",
		"must be at least 1 character long");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"vlans\":[1,2,3]}", "/vlans", "maxItems",
		"must have at most 2 items");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"vlans\":[7,7]}", "/vlans", "uniqueItems",
		"items 0 and 1 are equal");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"vlans\":[1,5000]}", "/vlans/1",
		"maximum", "must be at most 4094");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"since\":\"2024-02-30T00:00:00Z\"}",
		"/since", "format", "must be a date-time as in RFC 3339");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"match\":{}}", "/match", "oneOf",
		"must match exactly one of the allowed forms");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"match\":{\"mac\":\"x\",\"prefix\":\"y\"}}",
		"/match", "oneOf", "must match exactly one of the allowed forms");
	invalid(r, "s", "{\"name\":\"a\",\"status\":\"active\",\"contact\":\"nobody\"}", "/contact",
		"anyOf", "must match at least one of the allowed forms");
	invalid(r, "s", "[]", "", "type", "must be an object");
	/* The first error in document order: the instance's members in their order. */
	invalid(r, "s", "{\"bandwidth\":{\"cir\":-1},\"name\":7}", "/bandwidth/cir", "minimum",
		"must be at least 0");
	invalid(r, "s", "{\"name\":7,\"bandwidth\":{\"cir\":-1}}", "/name", "type", "must be a string");
	jschema_registry_free(r);
}

static void
test_alternative_detail(void **state)
{
	/* One alternative whose type matched: its own error says more than "one of". */
	struct jschema_registry *r = one(
		"{\"oneOf\":[{\"type\":\"string\"},"
		"{\"type\":\"object\",\"properties\":{\"cir\":{\"type\":\"integer\"}}}]}");

	invalid(r, "s", "{\"cir\":\"fast\"}", "/cir", "type", "must be an integer");
	invalid(r, "s", "true", "", "oneOf", "must match exactly one of the allowed forms");
	jschema_registry_free(r);
}

static void
test_registry_refs(void **state)
{
	struct jschema_registry *r = jschema_registry_new();
	char err[512];
	json_t *got;

	/* Subscriber names Bandwidth before Bandwidth is added: resolved when it is. */
	assert_int_equal(add(r, "Subscriber",
			     "{\"type\":\"object\",\"properties\":{"
			     "\"up\":{\"$ref\":\"#/components/schemas/Bandwidth\"},"
			     "\"down\":{\"$ref\":\"#/components/schemas/Bandwidth\",\"required\":[\"cir\"]},"
			     "\"cir\":{\"$ref\":\"#/components/schemas/Bandwidth/properties/cir\"},"
			     "\"self\":{\"$ref\":\"#/components/schemas/Subscriber\"},"
			     "\"odd\":{\"$ref\":\"#/$defs/a~1b~0c%25\"}},"
			     "\"$defs\":{\"a/b~c%\":{\"type\":\"boolean\"}}}",
			     err, sizeof(err)),
			 0);
	assert_int_equal(add(r, "Bandwidth",
			     "{\"type\":\"object\",\"properties\":{\"cir\":{\"type\":\"integer\",\"maximum\":10}}}",
			     err, sizeof(err)),
			 0);
	assert_int_equal(add(r, "Bandwidth", "{}", err, sizeof(err)), -EEXIST);
	if (jschema_registry_check(r, err, sizeof(err)) != 0)
		fail_msg("check: %s", err);
	valid(r, "Subscriber", "{\"up\":{\"cir\":3},\"down\":{\"cir\":4},\"cir\":5,\"odd\":true,"
			       "\"self\":{\"self\":{\"up\":{}}}}");
	invalid(r, "Subscriber", "{\"up\":{\"cir\":30}}", "/up/cir", "maximum", "must be at most 10");
	invalid(r, "Subscriber", "{\"down\":{}}", "/down/cir", "required", "missing required field 'cir'");
	invalid(r, "Subscriber", "{\"cir\":11}", "/cir", "maximum", "must be at most 10");
	invalid(r, "Subscriber", "{\"odd\":1}", "/odd", "type", "must be a boolean");
	invalid(r, "Subscriber", "{\"self\":{\"self\":{\"up\":{\"cir\":\"x\"}}}}", "/self/self/up/cir",
		"type", "must be an integer");
	got = jschema_get(r, "Bandwidth");
	assert_non_null(got);
	assert_non_null(json_object_get(got, "properties"));
	assert_null(jschema_get(r, "Nope"));
	jschema_registry_free(r);
}

static void
test_dangling(void **state)
{
	struct jschema_registry *r = jschema_registry_new();
	struct jschema_error e;
	json_t *j = json_object();
	char err[512];

	assert_int_equal(add(r, "port", "{\"properties\":{\"qos\":{\"$ref\":\"#/components/schemas/Qos\"}}}",
			     err, sizeof(err)),
			 0);
	assert_int_equal(add(r, "other", "{\"$ref\":\"#/components/schemas/port/nothing/here\"}", err,
			     sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "does not point to a schema"));
	assert_int_equal(jschema_registry_check(r, err, sizeof(err)), -EINVAL);
	if (strstr(err, "port: /properties/qos/$ref: dangling $ref '#/components/schemas/Qos'") == NULL)
		fail_msg("got %s", err);
	/* Unchecked, the dangling reference fails validation rather than passing. */
	json_object_set_new(j, "qos", json_object());
	assert_int_equal(jschema_validate(r, "port", j, &e), -EINVAL);
	assert_string_equal(e.keyword, "$ref");
	assert_string_equal(e.pointer, "/qos");
	assert_int_equal(jschema_validate(r, "nope", j, &e), -ENOENT);
	assert_int_equal(add(r, "Qos", "{\"type\":\"object\"}", err, sizeof(err)), 0);
	assert_int_equal(jschema_registry_check(r, err, sizeof(err)), 0);
	assert_int_equal(jschema_validate(r, "port", j, NULL), 0);
	json_decref(j);
	jschema_registry_free(r);
}

static void
test_depth(void **state)
{
	struct jschema_registry *r = one("{\"properties\":{\"a\":{\"$ref\":\"#\"}}}");
	json_t *deep = json_object(), *cur = deep;
	struct jschema_error e;
	int i;

	for (i = 0; i < 20; i++) {
		json_t *next = json_object();

		json_object_set_new(cur, "a", next);
		cur = next;
	}
	assert_int_equal(jschema_validate(r, "s", deep, &e), 0);
	for (i = 0; i < 300; i++) {
		json_t *next = json_object();

		json_object_set_new(cur, "a", next);
		cur = next;
	}
	assert_int_equal(jschema_validate(r, "s", deep, &e), -EINVAL);
	assert_non_null(strstr(e.message, "nested too deeply"));
	assert_int_equal(strncmp(e.pointer, "/a/a/a", 6), 0);
	json_decref(deep);
	jschema_registry_free(r);

	/* A reference loop compiles, and answers an error rather than recursing forever. */
	r = one("{\"$ref\":\"#\"}");
	invalid(r, "s", "1", "", "$ref", "nested too deeply");
	jschema_registry_free(r);
	r = one("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},"
		"\"not\":{\"$ref\":\"#/$defs/a\"}}");
	/* "not" does not turn the depth error into a pass. */
	invalid(r, "s", "1", "", "$ref", "nested too deeply");
	jschema_registry_free(r);

	/* Schemas nested too deep are refused at compile, before recursing far. */
	{
		char schema[4096] = "", *p = schema;

		for (i = 0; i < 100; i++)
			p += sprintf(p, "{\"not\":");
		p += sprintf(p, "true");
		for (i = 0; i < 100; i++)
			*p++ = '}';
		*p = '\0';
		refused(schema, "nested deeper than");
	}
}

static void
test_utf8_length(void **state)
{
	struct jschema_registry *r = one("{\"minLength\":2,\"maxLength\":3}");

	valid(r, "s", "\"\\u00e9\\u20ac\"");      /* 2 code points, 5 bytes */
	valid(r, "s", "\"\\ud83d\\udca9ab\"");    /* 3 code points, 6 bytes */
	invalid(r, "s", "\"\\u00e9\\u00e9\\u20ac\\u20ac\"", "", "maxLength",
		"must be at most 3 characters long");
	invalid(r, "s", "\"\\ud83d\\udca9\"", "", "minLength", "must be at least 2 characters long");
	jschema_registry_free(r);
}

static void
test_patterns(void **state)
{
	struct jschema_registry *r = one("{\"properties\":{"
					 "\"d\":{\"pattern\":\"^\\\\d{3}$\"},"
					 "\"w\":{\"pattern\":\"^[\\\\w.-]+@\\\\S+$\"},"
					 "\"u\":{\"pattern\":\"b\"},"
					 "\"l\":{\"pattern\":\"^a+?b{2}c{1,}?$\"},"
					 "\"h\":{\"pattern\":\"^[a-z0-9]{1,63}(\\\\.[a-z0-9]{1,63})*$\"}}}");

	valid(r, "s", "{\"d\":\"123\",\"w\":\"a.b-c_d@x\",\"u\":\"abc\",\"l\":\"aabbc\","
		      "\"h\":\"edge.example\"}");
	invalid(r, "s", "{\"l\":\"aabc\"}", "/l", "pattern", "must match the pattern");
	invalid(r, "s", "{\"h\":\"edge..example\"}", "/h", "pattern", "must match the pattern");
	invalid(r, "s", "{\"d\":\"ddd\"}", "/d", "pattern", "must match the pattern");
	invalid(r, "s", "{\"w\":\"a b@x\"}", "/w", "pattern", "must match the pattern");
	invalid(r, "s", "{\"u\":\"ac\"}", "/u", "pattern", "must match the pattern b");
	jschema_registry_free(r);
}

static void
test_formats(void **state)
{
	struct jschema_registry *r = one(
		"{\"properties\":{\"u\":{\"format\":\"uuid\"},\"t\":{\"format\":\"time\"},"
		"\"d\":{\"format\":\"date\"},\"e\":{\"format\":\"email\"},\"i\":{\"format\":\"ipv4\"},"
		"\"s\":{\"format\":\"uri\"}}}");

	valid(r, "s", "{\"u\":\"123e4567-e89b-12d3-a456-426614174000\",\"t\":\"23:59:60+00:00\","
		      "\"d\":\"2000-02-29\",\"e\":\"ops@example.net\",\"i\":\"192.0.2.1\","
		      "\"s\":\"https://example.com/a?b#c\"}");
	invalid(r, "s", "{\"u\":\"123e4567e89b12d3a456426614174000\"}", "/u", "format", "UUID");
	invalid(r, "s", "{\"t\":\"12:00:60Z\"}", "/t", "format", "RFC 3339");
	invalid(r, "s", "{\"d\":\"1900-02-29\"}", "/d", "format", "RFC 3339");
	invalid(r, "s", "{\"e\":\"ops@\"}", "/e", "format", "e-mail");
	invalid(r, "s", "{\"i\":\"192.0.2\"}", "/i", "format", "IPv4");
	invalid(r, "s", "{\"s\":\"no scheme\"}", "/s", "format", "URI");
	/* Formats apply to strings only. */
	valid(r, "s", "{\"u\":12}");
	jschema_registry_free(r);
}

static void
test_numbers(void **state)
{
	struct jschema_registry *r = one("{\"properties\":{\"i\":{\"type\":\"integer\"},"
					 "\"c\":{\"const\":{\"a\":1,\"b\":[2.0]}},"
					 "\"m\":{\"multipleOf\":0.01}}}");

	valid(r, "s", "{\"i\":1.0,\"c\":{\"b\":[2],\"a\":1.0},\"m\":19.99}");
	invalid(r, "s", "{\"i\":1.5}", "/i", "type", "must be an integer");
	invalid(r, "s", "{\"c\":{\"a\":1}}", "/c", "const", "must be exactly: {\"a\":1,\"b\":[2.0]}");
	invalid(r, "s", "{\"m\":19.999}", "/m", "multipleOf", "must be a multiple of 0.01");
	jschema_registry_free(r);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_accepted_annotations),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_alternative_detail),
		cmocka_unit_test(test_registry_refs),
		cmocka_unit_test(test_dangling),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_utf8_length),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_numbers),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_jschema JSON_SCHEMA_TEST_SUITE_DRAFT7_DIR\n");
		return 2;
	}
	suite_dir = argv[1];
	return cmocka_run_group_tests_name("jschema", tests, NULL, NULL);
}
