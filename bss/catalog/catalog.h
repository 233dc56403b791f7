/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_CATALOG_H
#define CUCO_BSS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/command.h"
#include "bss/core/principal.h"

/*
 * The product catalog domain: what the operator sells and what it takes.
 *
 *   TM Forum TMF620 resources, with a lifecycle (lifecycleStatus
 *   "In Design" -> "Active" -> "Retired"):
 *     catalog, category, productSpecification, productOffering,
 *     productOfferingPrice
 *   appliance resources, without lifecycle:
 *     profile    a bandwidth profile as the fast path enforces it (a
 *                specification refers to one)
 *     promotion  a percentage or an amount off an offering's recurring price
 *                for the first N months of subscriptions made in its window
 *   inventory items (CPE models, port capacity ...) with reservations.
 *
 * Write side: every change is written with its outbox event in one
 * transaction, under optimistic concurrency on the aggregate's revision.
 * Read side (CQRS): the consumer "readmodel" (catalog_readmodel_apply(),
 * registered by the host) keeps a denormalised document per resource from
 * the domain's own events; catalog_get() and catalog_list() read only that,
 * so they lag the writes by the consumer's lag (cuco_consumer_lag in
 * /metrics). Inventory reads are not eventually consistent: they read the
 * write side.
 *
 * Authorization: every principal with a role may read (self-care too);
 * admin and operator may write. Functions check it themselves.
 *
 * Errors: functions return 0 or a negative errno and fill @err:
 *
 *   code                 errno     meaning
 *   invalid-argument     -EINVAL   a field is malformed (err->field: a JSON pointer)
 *   not-found            -ENOENT   no such resource (a reference to a missing
 *                                  one is invalid-argument, naming the field)
 *   illegal-transition   -EBUSY    the change is not allowed in the current
 *                                  lifecycle state (err->current names it)
 *   conflict             -EEXIST   a unique name is taken, or the resource is
 *                                  still referred to (err->message names who)
 *   stale-version        -ESTALE   the expected revision is not the current one
 *   insufficient-stock   -ENOSPC   fewer items available than asked for
 *   forbidden            -EPERM    the principal may not do this
 *   internal             -EIO      the database failed
 *
 * Threads: a struct catalog owns one database connection; use it from one
 * thread at a time.
 */

struct catalog;
struct db;
struct es_event;

struct catalog_error {
	char code[32];	   /* "invalid-argument", ... (above) */
	char field[64];	   /* JSON pointer into the request: "/price/unit", or "" */
	char current[32];  /* illegal-transition: the current lifecycle state */
	char message[256]; /* for people: names the field, the value and what is allowed */
};

enum catalog_kind {
	CATALOG_CATALOG = 0,   /* TMF Catalog */
	CATALOG_CATEGORY,      /* TMF Category */
	CATALOG_SPECIFICATION, /* TMF ProductSpecification */
	CATALOG_OFFERING,      /* TMF ProductOffering */
	CATALOG_PRICE,	       /* TMF ProductOfferingPrice */
	CATALOG_PROFILE,       /* bandwidth profile */
	CATALOG_PROMOTION,     /* promotion */
	CATALOG_KIND_COUNT,
};

/* "catalog", "category", "specification", "offering", "price", "profile", "promotion". */
const char *catalog_kind_name(enum catalog_kind k);

/* Whether resources of @k have a TMF lifecycleStatus (the five TMF kinds). */
bool catalog_kind_has_lifecycle(enum catalog_kind k);

/* Bring the schema "catalog" up to date. Once at start, before catalog_open(). */
int catalog_migrate(const char *url, struct catalog_error *err);

/* Connect as the domain's role. 0, or -EIO when the database is unreachable. */
int catalog_open(const char *url, struct catalog **ret, struct catalog_error *err);

/* Accepts NULL, returns NULL. */
struct catalog *catalog_close(struct catalog *cat);

/* What the caller needs beside a representation: for ETag and Last-Modified. */
struct catalog_meta {
	int64_t revision;	/* the aggregate's version: 1 at creation, +1 a change */
	int64_t last_update_us; /* Unix time of the last change, microseconds */
};

/* ---- Resources (TMF kinds, profiles, promotions) ------------------------- */

/*
 * Create a resource of @kind from @body (its representation without the
 * server's members: id, href, @type, lastUpdate, and for TMF kinds
 * lifecycleStatus defaults to "In Design"). The domain validates @body
 * itself (every field, references to other resources, which must exist and
 * be of the right kind). @ret gets the representation as written (the read
 * model catches up later). Events catalog.<kind>.created.
 */
int catalog_create(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
		   const json_t *body, json_t **ret, struct catalog_meta *ret_meta,
		   struct catalog_error *err);

/*
 * Apply a JSON merge patch (RFC 7396) to resource @id, from the write side.
 * @expected_revision: -1 for any, else -ESTALE when it moved on. Lifecycle:
 * In Design -> Active -> Retired only (else -EBUSY "illegal-transition" with
 * the current state); an offering becomes Active only with a specification
 * and at least one price, all Active and in one currency; a specification or
 * price used by an Active offering cannot be retired. Outside In Design only
 * lifecycleStatus, description and validFor may change. A patch that changes
 * nothing writes nothing. Events catalog.<kind>.updated, or
 * catalog.<kind>.lifecycle_changed when lifecycleStatus changed.
 */
int catalog_update(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
		   const char *id, const json_t *patch, int64_t expected_revision, json_t **ret,
		   struct catalog_meta *ret_meta, struct catalog_error *err);

/*
 * Delete: TMF kinds only while In Design (else -EBUSY, "illegal-transition"),
 * and no resource may still refer to it (-EEXIST, "conflict", naming them):
 * a profile used by a specification, a price by an offering ...
 * Event catalog.<kind>.deleted.
 */
int catalog_delete(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
		   const char *id, int64_t expected_revision, struct catalog_error *err);

/*
 * The write side's current representation and meta (for If-Match before a
 * change, and for tests); callers serve reads with catalog_get().
 */
int catalog_get_current(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
			const char *id, json_t **ret, struct catalog_meta *ret_meta,
			struct catalog_error *err);

/*
 * From the read model: one resource. An offering's document is denormalised:
 * its specification (with the bandwidth profile), its prices, categories and
 * the promotions that target it, in one document.
 */
int catalog_get(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
		const char *id, json_t **ret, struct catalog_meta *ret_meta,
		struct catalog_error *err);

/* A filter on a list: attribute (a dotted path "productSpecification.id") = value. */
struct catalog_filter {
	const char *attr;
	const char *value;
};

/*
 * From the read model: resources of @kind matching every filter (exact
 * match; the attributes each kind accepts are catalog_filters()), ordered by
 * name then id, from @offset, at most @limit. @ret_items: an array;
 * @ret_total: how many match; @ret_meta: the newest last_update_us of those
 * listed (revision 0).
 */
int catalog_list(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
		 const struct catalog_filter *filters, size_t n_filters, uint64_t limit,
		 uint64_t offset, json_t **ret_items, uint64_t *ret_total,
		 struct catalog_meta *ret_meta, struct catalog_error *err);

/* The filterable attributes of @kind, NULL-terminated (static). */
const char *const *catalog_filters(enum catalog_kind kind);

/*
 * The price of offering @id for month @month (1, 2, ...) of a subscription
 * made at @at (a date "2027-01-15" or an RFC 3339 date-time; NULL: now),
 * from its read-model document (the snapshot billing takes): see
 * catalog_price_at() in model.h. Adds "recurring", "oneTime", "discount" and
 * "total" as Money {"unit", "value"}.
 */
int catalog_offering_price(struct catalog *cat, const struct cuco_principal *p, const char *id,
			   const char *at, unsigned month, json_t **ret, struct catalog_error *err);

/* ---- Inventory ----------------------------------------------------------- */

/*
 * Items: {"id", "href", "@type": "InventoryItem", "name", "description",
 * "kind", "sku", "quantity" (on hand), "reserved", "available" (quantity -
 * reserved), "version", "created_at", "updated_at"}. The same merge-patch,
 * revision and event rules as resources; a quantity below what is reserved
 * is -ENOSPC. Changing the quantity is a restock: event
 * catalog.inventory.restocked, other changes catalog.inventory.updated.
 */
int catalog_item_create(struct catalog *cat, const struct cuco_principal *p, const json_t *body,
			json_t **ret, struct catalog_meta *ret_meta, struct catalog_error *err);
int catalog_item_update(struct catalog *cat, const struct cuco_principal *p, const char *id,
			const json_t *patch, int64_t expected_revision, json_t **ret,
			struct catalog_meta *ret_meta, struct catalog_error *err);
/* Only without open reservations (-EEXIST "conflict"). */
int catalog_item_delete(struct catalog *cat, const struct cuco_principal *p, const char *id,
			int64_t expected_revision, struct catalog_error *err);
int catalog_item_get(struct catalog *cat, const struct cuco_principal *p, const char *id,
		     json_t **ret, struct catalog_meta *ret_meta, struct catalog_error *err);
/* Filters: kind, sku, name. */
int catalog_item_list(struct catalog *cat, const struct cuco_principal *p,
		      const struct catalog_filter *filters, size_t n_filters, uint64_t limit,
		      uint64_t offset, json_t **ret_items, uint64_t *ret_total,
		      struct catalog_error *err);

/*
 * Reservations: {"reservation_id", "item_id", "quantity", "state":
 * "reserved" | "released" | "committed", "created_at", "updated_at"}.
 *
 * Reserve @quantity (1..1000000) of @item_id under the caller's
 * @reservation_id ([A-Za-z0-9._:-]{1,64}, e.g. an order id). Idempotent: the
 * same id again returns the reservation as it is (@ret_created false); the
 * same id with another quantity is -EEXIST "conflict". The item's row is
 * locked while checking, so concurrent reservations never take more than
 * is available: -ENOSPC "insufficient-stock" (message: how many are).
 * Event catalog.inventory.reserved.
 */
int catalog_reserve(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
		    const char *reservation_id, int64_t quantity, json_t **ret, bool *ret_created,
		    struct catalog_error *err);

/*
 * Give back (release) or take out of stock (commit) a reservation.
 * Idempotent: releasing a released one, or committing a committed one,
 * answers it as it is; releasing a committed one or committing a released
 * one is -EBUSY "illegal-transition" (current: its state). Events
 * catalog.inventory.released / catalog.inventory.committed.
 */
int catalog_release(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
		    const char *reservation_id, json_t **ret, struct catalog_error *err);
int catalog_commit(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
		   const char *reservation_id, json_t **ret, struct catalog_error *err);

/* One reservation (from the write side). */
int catalog_reservation_get(struct catalog *cat, const struct cuco_principal *p,
			    const char *item_id, const char *reservation_id, json_t **ret,
			    struct catalog_error *err);

/* ---- Commands of the order saga (bus) -------------------------------------- */

/*
 * The catalog's command handler on the bus (a cmd_handler_fn, @arg unused),
 * for the order saga (docs/order.md); admin and operator principals only:
 *
 *   catalog.order.reserve {step_id, order_id, at, items: [{order_item_id,
 *       action, offering_id, previous_offering_id, inventory: [{item_id |
 *       sku, quantity}]}]} -> {reservation_ids, snapshot: {offering id:
 *       {offering, price, profile}}}; refuses ("refused") an offering that is
 *       not orderable at @at (not for action delete) and stock that is short;
 *       all or nothing. Reservation ids are "<order_id>.<n>".
 *   catalog.order.release {step_id, reservation_ids} (the compensation;
 *       an id never reserved is nothing to release)
 *   catalog.order.commit  {step_id, reservation_ids} (on completion)
 *   catalog.offering.check {offering_id, at} -> {offering_id, name,
 *       lifecycleStatus, orderable} (a query)
 */
int catalog_command(struct db *db, const struct cuco_principal *who, const char *type,
		    json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem);

/* Whether command @type only reads. */
bool catalog_is_query(const char *type);

/* ---- Read model ---------------------------------------------------------- */

/*
 * The consumer "readmodel" of the catalog's own events (an inbox_handler_fn:
 * runs inside the inbox's transaction on the consumer's connection, so each
 * event is applied once, with the consumer's position).
 */
int catalog_readmodel_apply(struct db *db, const char *source, const struct es_event *ev, void *arg,
			    char *err, size_t errlen);

#endif
