/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_BILLING_FEED_H
#define CUCO_BSS_BILLING_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Export feeds for billing systems (docs/usage.md, "Feeds"): records of a
 * source (usage rows; invoices to come) in id order, in batches, to files
 * (CSV, JSON lines) or an IPFIX collector.
 *
 * A feed's position (billing.feed_positions: last id exported, last batch
 * number, records so far) moves only after a batch was written whole:
 *
 *   files  <dir>/<feed>-<batch:012>.<csv|jsonl>, then
 *          <dir>/<feed>-<batch:012>.manifest.json {feed, source, format,
 *          batch, file, records, first_id, last_id, bytes, sha256}, each
 *          written to a temporary name, fsync'ed and renamed: a reader sees
 *          a whole file or none, and the manifest only once its data file
 *          is there. A crash before the position is committed writes the
 *          same batch again, identically (same ids, same bytes), so a
 *          consumer that keeps the last batch number it took misses
 *          nothing and gets nothing twice.
 *   ipfix  UDP messages (ipfix.h) numbered by records sent (the IPFIX
 *          sequence number, which tells a collector what it lost).
 *
 * A source reads the records after an id (the writers of the source hold
 * the lock that the feed takes before it reads, so no smaller id can still
 * commit later). To add one (invoices), add a struct feed_source to
 * feed_sources[] in feed.c: its name, its columns, its read function.
 */

struct db;

/* A source of records: rows in id order as JSON objects with its columns. */
struct feed_source {
	const char *name;            /* the config's SOURCE */
	const char *const *columns;  /* CSV header and member order, NULL-terminated */
	/*
	 * At most @max records with id > @after, in id order, into @ret (an
	 * array of objects having every column; "id" an integer), on @db.
	 * Returns 0 or -EIO with @err.
	 */
	int (*read)(struct db *db, int64_t after, size_t max, json_t **ret, char *err,
		    size_t errlen);
};

/* The source named @name, or NULL. */
const struct feed_source *feed_source_find(const char *name);

enum feed_format { FEED_CSV, FEED_JSONL, FEED_IPFIX };

struct feed_config {
	char name[64];        /* [A-Za-z0-9_-]{1,63}: files, position */
	char source[16];
	enum feed_format format;
	char target[256];     /* a directory; for ipfix host:port (UDP) */
	unsigned max_records; /* per batch */
	uint32_t domain;      /* IPFIX observation domain */
};

/* "csv", "jsonl", "ipfix" -> format. 0 or -EINVAL. */
int feed_format_parse(const char *s, enum feed_format *ret);

/* What one feed_run() did. */
struct feed_result {
	int64_t batch;     /* the batch written, 0 when nothing was new */
	size_t records;
	int64_t last_id;
};

struct feed;

/*
 * A feed of @cfg (copied): its source found, its target checked (a
 * directory it can write; an ipfix host:port resolved and a UDP socket).
 * Returns 0 or -EINVAL / -errno with @err.
 */
int feed_open(const struct feed_config *cfg, struct feed **ret, char *err, size_t errlen);

/* Accepts NULL, returns NULL. */
struct feed *feed_close(struct feed *f);

/* The most records a batch of @f holds. */
size_t feed_max_records(const struct feed *f);

/*
 * Export what is new since the feed's position, one batch at most, and
 * commit the new position. Returns 0 (with @ret, batch 0 when nothing was
 * new), or a negative errno with @err (nothing committed; try again).
 */
int feed_run(struct feed *f, struct db *db, struct feed_result *ret, char *err, size_t errlen);

#endif
