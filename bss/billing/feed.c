/* SPDX-License-Identifier: BSD-3-Clause */
/* Export feeds: batches of a source's records to files or IPFIX, with positions. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "bss/billing/feed.h"
#include "bss/billing/ipfix.h"
#include "bss/core/db.h"

/* The lock writers of usage hold until they commit (usage_store.c). */
#define SOURCE_LOCK "SELECT pg_advisory_xact_lock(7368272617)"

/* ---- sources ------------------------------------------------------------------------- */

/* A source's rows (one JSON text each) as an array in @ret; consumes @res. */
static int
rows_json(PGresult *res, json_t **ret)
{
	json_t *arr;

	if (res == NULL)
		return -EIO;
	arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, json_loads(PQgetvalue(res, i, 0), 0, NULL));
	PQclear(res);
	*ret = arr;
	return 0;
}

static const char *const usage_columns[] = {
	"id",	      "service_id", "dataplane",  "boot_id",	"seq",		"start_time",
	"end_time", "bytes_up",   "bytes_down", "packets_up", "packets_down", NULL,
};

static int
usage_read(struct db *db, int64_t after, size_t max, json_t **ret, char *err, size_t errlen)
{
	char a[24], m[24];
	const char *params[] = {a, m};
	PGresult *res;

	snprintf(a, sizeof(a), "%" PRId64, after);
	snprintf(m, sizeof(m), "%zu", max);
	res = db_exec(db,
		      "SELECT json_build_object('id', id, 'service_id', service_id, 'dataplane', "
		      "dataplane, 'boot_id', boot_id, 'seq', seq, 'start_time', to_char(start_time "
		      "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'end_time', "
		      "to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
		      "'bytes_up', bytes_up, 'bytes_down', bytes_down, 'packets_up', packets_up, "
		      "'packets_down', packets_down, 'start_ms', (extract(epoch FROM start_time) * "
		      "1000)::bigint, 'end_ms', (extract(epoch FROM end_time) * 1000)::bigint)::text "
		      "FROM usage WHERE id > $1::bigint ORDER BY id LIMIT $2::bigint",
		      2, params, err, errlen, NULL);
	return rows_json(res, ret);
}

/*
 * Issued invoices and credit notes, in the order of their numbers: a year's
 * numbers are taken in commit order without gaps (invoice_numbers' row is
 * held to the commit), so no invoice below one a feed has read can still
 * come. The record's id is year * 10^9 + the number's seq.
 */
static const char *const invoice_columns[] = {
	"id",	   "number",	 "kind",       "account_id", "customer_id", "cycle_start",
	"cycle_end", "currency", "net_minor", "tax_minor",  "total_minor", "credited_invoice",
	"issued_at", "due_at",	 NULL,
};

static int
invoice_read(struct db *db, int64_t after, size_t max, json_t **ret, char *err, size_t errlen)
{
	char y[24], q[24], m[24];
	const char *params[] = {y, q, m};
	PGresult *res;

	/* (year, seq) after the position's: the unique index's order. */
	snprintf(y, sizeof(y), "%" PRId64, after / 1000000000);
	snprintf(q, sizeof(q), "%" PRId64, after % 1000000000);
	snprintf(m, sizeof(m), "%zu", max);
	res = db_exec(db,
		      "SELECT json_build_object('id', year::bigint * 1000000000 + seq, 'number', "
		      "number, 'kind', kind, 'account_id', account_id, 'customer_id', customer_id, "
		      "'cycle_start', cycle_start, 'cycle_end', cycle_end, 'currency', currency, "
		      "'net_minor', net_minor, 'tax_minor', tax_minor, 'total_minor', total_minor, "
		      "'credited_invoice', credited_invoice, 'issued_at', to_char(issued_at AT TIME "
		      "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'due_at', to_char(due_at AT "
		      "TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))::text FROM invoices "
		      "WHERE (year, seq) > ($1::int, $2::bigint) ORDER BY year, seq "
		      "LIMIT $3::bigint",
		      3, params, err, errlen, NULL);
	return rows_json(res, ret);
}

static const struct feed_source feed_sources[] = {
	{"usage", usage_columns, usage_read},
	{"invoices", invoice_columns, invoice_read},
};

const struct feed_source *
feed_source_find(const char *name)
{
	for (size_t i = 0; i < sizeof(feed_sources) / sizeof(feed_sources[0]); i++)
		if (strcmp(feed_sources[i].name, name) == 0)
			return &feed_sources[i];
	return NULL;
}

int
feed_format_parse(const char *s, enum feed_format *ret)
{
	if (strcmp(s, "csv") == 0)
		*ret = FEED_CSV;
	else if (strcmp(s, "jsonl") == 0)
		*ret = FEED_JSONL;
	else if (strcmp(s, "ipfix") == 0)
		*ret = FEED_IPFIX;
	else
		return -EINVAL;
	return 0;
}

/* ---- the feed -------------------------------------------------------------------------- */

struct feed {
	struct feed_config cfg;
	const struct feed_source *src;
	int sock; /* ipfix: a connected UDP socket */
};

static int
ipfix_socket(const char *target, int *ret, char *err, size_t errlen)
{
	char host[256], *port;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
	int r, fd;

	snprintf(host, sizeof(host), "%s", target);
	if (host[0] == '[') { /* [v6]:port */
		port = strstr(host, "]:");
		if (port == NULL)
			goto bad;
		*port = '\0';
		port += 2;
		memmove(host, host + 1, strlen(host));
	} else {
		port = strrchr(host, ':');
		if (port == NULL)
			goto bad;
		*port++ = '\0';
	}
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0) {
		snprintf(err, errlen, "%s: %s", target, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", target, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return r;
	}
	freeaddrinfo(ai);
	*ret = fd;
	return 0;
bad:
	snprintf(err, errlen, "%s: expected HOST:PORT", target);
	return -EINVAL;
}

int
feed_open(const struct feed_config *cfg, struct feed **ret, char *err, size_t errlen)
{
	struct feed *f;
	int r;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return -EIO;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->cfg = *cfg;
	f->sock = -1;
	if (f->cfg.max_records == 0)
		f->cfg.max_records = 100000;
	f->src = feed_source_find(cfg->source);
	if (f->src == NULL) {
		snprintf(err, errlen, "feed %s: unknown source '%s'", cfg->name, cfg->source);
		free(f);
		return -EINVAL;
	}
	if (cfg->format == FEED_IPFIX) {
		if (strcmp(cfg->source, "usage") != 0) {
			snprintf(err, errlen, "feed %s: ipfix carries usage only", cfg->name);
			free(f);
			return -EINVAL;
		}
		r = ipfix_socket(cfg->target, &f->sock, err, errlen);
	} else {
		r = access(cfg->target, W_OK | X_OK) == 0 ? 0 : -errno;
		if (r < 0)
			snprintf(err, errlen, "feed %s: directory %s: %s", cfg->name, cfg->target,
				 strerror(-r));
	}
	if (r < 0) {
		free(f);
		return r;
	}
	*ret = f;
	return 0;
}

struct feed *
feed_close(struct feed *f)
{
	if (f == NULL)
		return NULL;
	if (f->sock >= 0)
		close(f->sock);
	free(f);
	return NULL;
}

size_t
feed_max_records(const struct feed *f)
{
	return f->cfg.max_records;
}

/* ---- file formats ---------------------------------------------------------------------- */

/* RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled. */
static void
csv_field(FILE *fp, json_t *v)
{
	char num[32];
	const char *s;

	if (json_is_integer(v)) {
		fprintf(fp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	}
	if (json_is_null(v) || v == NULL)
		return;
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		fputs(num, fp);
		return;
	}
	if (json_is_boolean(v)) {
		fputs(json_is_true(v) ? "true" : "false", fp);
		return;
	}
	s = json_string_value(v);
	if (s == NULL) { /* objects, arrays: their JSON text */
		char *t = json_dumps(v, JSON_COMPACT);

		if (t != NULL) {
			json_t *tmp = json_string(t);

			csv_field(fp, tmp);
			json_decref(tmp);
		}
		free(t);
		return;
	}
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* The batch's data into @fp; records only the source's columns. */
static void
write_records(const struct feed *f, FILE *fp, json_t *rows)
{
	const char *const *c;
	size_t i;
	json_t *row;

	if (f->cfg.format == FEED_CSV) {
		for (c = f->src->columns; *c; c++)
			fprintf(fp, "%s%s", c == f->src->columns ? "" : ",", *c);
		fputs("\r\n", fp);
	}
	json_array_foreach(rows, i, row) {
		if (f->cfg.format == FEED_CSV) {
			for (c = f->src->columns; *c; c++) {
				if (c != f->src->columns)
					fputc(',', fp);
				csv_field(fp, json_object_get(row, *c));
			}
			fputs("\r\n", fp);
		} else {
			json_t *o = json_object();
			char *line;

			for (c = f->src->columns; *c; c++)
				json_object_set(o, *c, json_object_get(row, *c) ?: json_null());
			line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
			json_decref(o);
			if (line != NULL)
				fprintf(fp, "%s\n", line);
			free(line);
		}
	}
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Write @len bytes of @data as @dir/@name atomically: a temporary name,
 * fsync, rename. A reader sees the whole file or none.
 */
static int
write_atomic(const char *dir, const char *name, const char *data, size_t len, char *err,
	     size_t errlen)
{
	char tmp[512], path[512];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return r;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		unlink(tmp);
	}
	return r;
}

static int
write_files(const struct feed *f, int64_t batch, json_t *rows, char *err, size_t errlen)
{
	const char *ext = f->cfg.format == FEED_CSV ? "csv" : "jsonl";
	unsigned char sum[crypto_hash_sha256_BYTES];
	char name[128], mname[128], hex[2 * crypto_hash_sha256_BYTES + 1], *data = NULL, *man;
	size_t len = 0, n = json_array_size(rows);
	FILE *fp;
	json_t *m;
	int r;

	fp = open_memstream(&data, &len);
	if (fp == NULL)
		return -ENOMEM;
	write_records(f, fp, rows);
	if (fclose(fp) != 0 || data == NULL) {
		free(data);
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "%s-%012" PRId64 ".%s", f->cfg.name, batch, ext);
	snprintf(mname, sizeof(mname), "%s-%012" PRId64 ".manifest.json", f->cfg.name, batch);
	r = write_atomic(f->cfg.target, name, data, len, err, errlen);
	crypto_hash_sha256(sum, (const unsigned char *)data, len);
	free(data);
	if (r < 0)
		return r;
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	/* The manifest last: its presence says the batch is whole. */
	m = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:O, s:O, s:I, s:s}", "feed", f->cfg.name,
		      "source", f->src->name, "format", ext, "batch", (json_int_t)batch, "file",
		      name, "records", (json_int_t)n, "first_id",
		      json_object_get(json_array_get(rows, 0), "id"), "last_id",
		      json_object_get(json_array_get(rows, n - 1), "id"), "bytes", (json_int_t)len,
		      "sha256", hex);
	man = m ? json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(m);
	if (man == NULL)
		return -ENOMEM;
	r = write_atomic(f->cfg.target, mname, man, strlen(man), err, errlen);
	free(man);
	if (r == 0)
		r = fsync_dir(f->cfg.target);
	return r;
}

/* ---- IPFIX -------------------------------------------------------------------------------- */

static size_t
usage_records(json_t *row, struct ipfix_record r[2])
{
	struct ipfix_record base = {
		.start_ms = (uint64_t)json_integer_value(json_object_get(row, "start_ms")),
		.end_ms = (uint64_t)json_integer_value(json_object_get(row, "end_ms")),
		.usage_id = (uint64_t)json_integer_value(json_object_get(row, "id")),
	};
	static const char *const keys[2][2] = {{"bytes_up", "packets_up"},
					       {"bytes_down", "packets_down"}};
	size_t n = 0;

	if (ipfix_uuid_bytes(json_string_value(json_object_get(row, "service_id")) ?: "",
			     base.service) < 0)
		return 0;
	for (int d = 0; d < 2; d++) {
		uint64_t o = (uint64_t)json_integer_value(json_object_get(row, keys[d][0]));
		uint64_t p = (uint64_t)json_integer_value(json_object_get(row, keys[d][1]));

		if (o == 0 && p == 0)
			continue;
		r[n] = base;
		r[n].octets = o;
		r[n].packets = p;
		r[n].direction = d == 0 ? IPFIX_DIR_UP : IPFIX_DIR_DOWN;
		n++;
	}
	return n;
}

/* Send the batch; @seq in: records sent so far, out: after this batch. */
static int
send_ipfix(const struct feed *f, json_t *rows, uint64_t *seq, char *err, size_t errlen)
{
	size_t per = ipfix_records_max(1400), n = 0, i;
	struct ipfix_record *recs = calloc(2 * json_array_size(rows), sizeof(*recs));
	uint8_t buf[1500];
	json_t *row;
	int r = 0;

	if (recs == NULL)
		return -ENOMEM;
	json_array_foreach(rows, i, row)
		n += usage_records(row, recs + n);
	for (i = 0; i < n; i += per) {
		size_t k = n - i < per ? n - i : per;
		int len = ipfix_encode(buf, sizeof(buf), (uint32_t)time(NULL), (uint32_t)*seq,
				       f->cfg.domain, recs + i, k);

		if (len < 0 || send(f->sock, buf, (size_t)len, 0) != len) {
			r = len < 0 ? len : -errno;
			snprintf(err, errlen, "feed %s: ipfix to %s: %s", f->cfg.name,
				 f->cfg.target, strerror(-r));
			break;
		}
		*seq += k;
	}
	free(recs);
	return r;
}

/* ---- a round --------------------------------------------------------------------------- */

static int
position_load(struct db *db, const struct feed *f, int64_t *last_id, int64_t *batch,
	      uint64_t *records, char *err, size_t errlen)
{
	const char *params[] = {f->cfg.name, f->src->name};
	PGresult *res;

	res = db_exec(db,
		      "INSERT INTO feed_positions (feed, source) VALUES ($1, $2) ON CONFLICT (feed) "
		      "DO UPDATE SET source = feed_positions.source RETURNING last_id, batch, "
		      "records, source",
		      2, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	if (strcmp(PQgetvalue(res, 0, 3), f->src->name) != 0) {
		snprintf(err, errlen, "feed %s: it exported %s before, not %s", f->cfg.name,
			 PQgetvalue(res, 0, 3), f->src->name);
		PQclear(res);
		return -EINVAL;
	}
	*last_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*batch = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	*records = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return 0;
}

/* The rows after @after, read once every writer that could hand out a smaller id committed. */
static int
read_batch(struct feed *f, struct db *db, int64_t after, json_t **ret, char *err, size_t errlen)
{
	PGresult *res;
	int r;

	if (db_begin(db) < 0) {
		snprintf(err, errlen, "%s", db_error(db));
		return -EIO;
	}
	res = db_exec(db, SOURCE_LOCK, 0, NULL, err, errlen, NULL);
	if (res == NULL) {
		db_rollback(db);
		return -EIO;
	}
	PQclear(res);
	r = f->src->read(db, after, f->cfg.max_records, ret, err, errlen);
	db_rollback(db); /* read only: nothing to keep, the lock goes */
	return r;
}

int
feed_run(struct feed *f, struct db *db, struct feed_result *ret, char *err, size_t errlen)
{
	int64_t last_id, batch, new_last;
	uint64_t records, seq;
	json_t *rows = NULL;
	size_t n;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = position_load(db, f, &last_id, &batch, &records, err, errlen);
	if (r < 0)
		return r;
	r = read_batch(f, db, last_id, &rows, err, errlen);
	if (r < 0)
		return r;
	n = json_array_size(rows);
	if (n == 0) {
		json_decref(rows);
		ret->last_id = last_id;
		return 0;
	}
	new_last = json_integer_value(json_object_get(json_array_get(rows, n - 1), "id"));
	seq = records;
	if (f->cfg.format == FEED_IPFIX)
		r = send_ipfix(f, rows, &seq, err, errlen);
	else
		r = write_files(f, batch + 1, rows, err, errlen), seq = records + n;
	json_decref(rows);
	if (r < 0)
		return r;
	{
		char id[24], b[24], rec[24];
		const char *params[] = {f->cfg.name, id, b, rec};
		PGresult *res;

		snprintf(id, sizeof(id), "%" PRId64, new_last);
		snprintf(b, sizeof(b), "%" PRId64, batch + 1);
		snprintf(rec, sizeof(rec), "%" PRIu64, seq);
		res = db_exec(db,
			      "UPDATE feed_positions SET last_id = $2::bigint, batch = $3::bigint, "
			      "records = $4::bigint, updated_at = now() WHERE feed = $1",
			      4, params, err, errlen, NULL);
		if (res == NULL)
			return -EIO;
		PQclear(res);
	}
	ret->batch = batch + 1;
	ret->records = n;
	ret->last_id = new_last;
	return 0;
}
