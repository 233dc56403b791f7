/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLD_CONFIG_H
#define CUCO_CONTROLD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bss/billing/model.h"
#include "common/log.h"

/*
 * cuco-controld's configuration file (the project's line format, common/conf.h):
 *
 *   state-dir DIR               keys, first credentials (default /var/lib/cuco)
 *   database URL|embedded       PostgreSQL URL; "embedded" (default) is the private
 *                               cluster under STATE-DIR/pg (socket STATE-DIR/pg/run)
 *   listen ADDR [PORT]          REST gateway (default 127.0.0.1 8080)
 *   log-level LEVEL             error, warning, info (default), debug
 *   log-format json|text        one JSON object a line (default) or text
 *   token-lifetime SECONDS      access tokens (default 900)
 *   refresh-lifetime SECONDS    refresh tokens (default 28800)
 *   max-body BYTES              request bodies, k/M suffixes (default 1M)
 *   rate-limit token|address RATE BURST
 *                               requests per second per token / per peer address
 *                               (defaults: token 50 100, address 100 200)
 *   dead-letter-attempts N      failures before a message is parked (default 5)
 *   drain-timeout SECONDS       SIGTERM waits this long for requests (default 10)
 *   domains NAME...             domains this process hosts (default: all)
 *   endpoint DOMAIN EVENTS CMD  where a domain hosted elsewhere publishes its events
 *                               and takes commands (tcp://HOST:PORT each)
 *   bind DOMAIN EVENTS CMD      tcp:// endpoints a hosted domain also binds, for
 *                               domains in other processes
 *   feed NAME SOURCE FORMAT TARGET [interval SECONDS] [max RECORDS] [domain ID]
 *                               an export feed of the billing domain (docs/usage.md):
 *                               SOURCE usage or invoices; FORMAT csv or jsonl (TARGET a
 *                               directory) or ipfix (TARGET HOST:PORT, UDP);
 *                               a batch every interval (default 60 s) of at most
 *                               max records (default 100000); domain: the IPFIX
 *                               observation domain (default 1)
 *   billing-tax-rate PERCENT    VAT on invoices, at most two decimals (default 20)
 *   billing-cycle calendar|anniversary
 *                               new accounts' cycles (default calendar)
 *   billing-payment-terms DAYS  an invoice is due DAYS after issue (default 14)
 *   billing-currency CODE       accounts opened without a price (default EUR)
 *   billing-auto-send on|off    issued invoices are sent at once (default on)
 *   billing-schedule on|off     runs start when a cycle ends (default on)
 *   billing-dunning DAYS ACTION a dunning step, repeatable (replaces the defaults
 *                               7 reminder, 21 suspend): reminder, walled-garden, suspend
 *   billing-dunning-interval SECONDS
 *                               how often dunning looks (default 60)
 */

#define CTL_MAX_DOMAINS 16
#define CTL_MAX_FEEDS 8
#define CTL_URL_MAX 512

struct ctl_endpoint {
	char domain[32];
	char events[128];
	char cmd[128];
};

struct ctl_feed {
	char name[64];
	char source[16];
	char format[8];
	char target[256];
	unsigned interval_s;
	unsigned max_records;
	unsigned domain;
};

struct ctl_config {
	char path[256];
	char state_dir[256];
	char database[CTL_URL_MAX]; /* resolved: never "embedded" */
	bool database_embedded;
	char listen_addr[64];
	unsigned port;
	enum cuco_log_level log_level;
	bool log_json;
	unsigned token_lifetime_s;
	unsigned refresh_lifetime_s;
	uint64_t max_body;
	unsigned rate_token, burst_token;
	unsigned rate_address, burst_address;
	unsigned dead_letter_attempts;
	unsigned drain_timeout_s;
	/* How long an order's saga waits for the dataplanes to apply a service. */
	unsigned provision_timeout_s;
	unsigned n_domains; /* 0: all */
	char domains[CTL_MAX_DOMAINS][32];
	unsigned n_endpoints;
	struct ctl_endpoint endpoints[CTL_MAX_DOMAINS];
	unsigned n_binds;
	struct ctl_endpoint binds[CTL_MAX_DOMAINS];
	unsigned n_feeds;
	struct ctl_feed feeds[CTL_MAX_FEEDS];
	struct billing_config billing;
	bool billing_dunning_set; /* a billing-dunning line replaced the default steps */
};

/* Defaults only (no file). */
void ctl_config_defaults(struct ctl_config *cfg);

/*
 * Parse @buf (named @name in errors) over the defaults. Returns 0 or -EINVAL
 * with "NAME:LINE: FIELD: reason" in @err; @cfg is then unspecified.
 */
int ctl_config_parse(const char *name, const char *buf, size_t len, struct ctl_config *cfg,
		     char *err, size_t errlen);

/* Read and parse a file. Returns 0 or -EINVAL with the reason in @err. */
int ctl_config_load(const char *path, struct ctl_config *cfg, char *err, size_t errlen);

/* Whether this process hosts @domain. */
bool ctl_config_hosts(const struct ctl_config *cfg, const char *domain);

#endif
