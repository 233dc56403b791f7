/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "controlplane/controld/config.h"

#define ERR(l, field, ...) conf_error(err, errlen, name, (l)->lineno, (field), __VA_ARGS__)

/* Domains cuco-controld knows, for "domains" and "endpoint". */
static const char *const known_domains[] = {
	"security", "customer", "catalog", "order", "billing", "network", "support",
};

static bool
domain_known(const char *d)
{
	for (size_t i = 0; i < sizeof(known_domains) / sizeof(known_domains[0]); i++)
		if (strcmp(d, known_domains[i]) == 0)
			return true;
	return false;
}

static void
embedded_url(struct ctl_config *cfg)
{
	snprintf(cfg->database, sizeof(cfg->database), "postgresql:///cuco?host=%s/pg/run&user=cuco",
		 cfg->state_dir);
}

void
ctl_config_defaults(struct ctl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/cuco");
	cfg->database_embedded = true;
	embedded_url(cfg);
	snprintf(cfg->listen_addr, sizeof(cfg->listen_addr), "127.0.0.1");
	cfg->port = 8080;
	cfg->log_level = CUCO_LOG_INFO;
	cfg->log_json = true;
	cfg->token_lifetime_s = 900;
	cfg->refresh_lifetime_s = 28800;
	cfg->max_body = 1u << 20;
	cfg->rate_token = 50;
	cfg->burst_token = 100;
	cfg->rate_address = 100;
	cfg->burst_address = 200;
	cfg->dead_letter_attempts = 5;
	cfg->drain_timeout_s = 10;
	cfg->provision_timeout_s = 60;
	billing_config_defaults(&cfg->billing);
}

static bool
zmq_endpoint_ok(const char *s)
{
	return strncmp(s, "tcp://", 6) == 0 || strncmp(s, "ipc://", 6) == 0;
}

static int
parse_endpoint(const char *name, const struct conf_line *l, struct ctl_endpoint *ep, char *err,
	       size_t errlen)
{
	if (l->n != 4)
		return ERR(l, l->w[0], "expected '%s DOMAIN EVENTS-ENDPOINT COMMAND-ENDPOINT'",
			   l->w[0]);
	if (!domain_known(l->w[1]))
		return ERR(l, l->w[0], "unknown domain '%s'", l->w[1]);
	for (int i = 2; i < 4; i++) {
		if (!zmq_endpoint_ok(l->w[i]) || strlen(l->w[i]) >= sizeof(ep->events))
			return ERR(l, l->w[0], "'%s' is not a tcp:// or ipc:// endpoint", l->w[i]);
	}
	snprintf(ep->domain, sizeof(ep->domain), "%s", l->w[1]);
	snprintf(ep->events, sizeof(ep->events), "%s", l->w[2]);
	snprintf(ep->cmd, sizeof(ep->cmd), "%s", l->w[3]);
	return 0;
}

static int
parse_uint_arg(const char *name, const struct conf_line *l, unsigned long min, unsigned long max,
	       unsigned *ret, char *err, size_t errlen)
{
	unsigned long v;

	if (l->n != 2)
		return ERR(l, l->w[0], "expected one value");
	if (conf_parse_uint(l->w[1], min, max, &v) < 0)
		return ERR(l, l->w[0], "'%s' is not an integer in [%lu, %lu]", l->w[1], min, max);
	*ret = (unsigned)v;
	return 0;
}

static int
parse_rate_limit(const char *name, const struct conf_line *l, struct ctl_config *cfg, char *err,
		 size_t errlen)
{
	unsigned long rate, burst;

	if (l->n != 4 || (strcmp(l->w[1], "token") != 0 && strcmp(l->w[1], "address") != 0))
		return ERR(l, "rate-limit", "expected 'rate-limit token|address RATE BURST'");
	if (conf_parse_uint(l->w[2], 1, 1000000, &rate) < 0)
		return ERR(l, "rate-limit", "rate '%s' is not an integer in [1, 1000000]", l->w[2]);
	if (conf_parse_uint(l->w[3], 1, 1000000, &burst) < 0)
		return ERR(l, "rate-limit", "burst '%s' is not an integer in [1, 1000000]",
			   l->w[3]);
	if (strcmp(l->w[1], "token") == 0) {
		cfg->rate_token = (unsigned)rate;
		cfg->burst_token = (unsigned)burst;
	} else {
		cfg->rate_address = (unsigned)rate;
		cfg->burst_address = (unsigned)burst;
	}
	return 0;
}

static int
parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'M')
		v <<= 20, end++;
	if (*end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* What a feed may export (bss/billing/feed.h's sources). */
static const char *const feed_sources[] = {"usage", "invoices"};

static bool
feed_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
					    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static int
parse_feed(const char *name, const struct conf_line *l, struct ctl_config *cfg, char *err,
	   size_t errlen)
{
	struct ctl_feed *f = &cfg->feeds[cfg->n_feeds];
	bool known = false;
	unsigned long v;

	if (cfg->n_feeds >= CTL_MAX_FEEDS)
		return ERR(l, "feed", "more than %d", CTL_MAX_FEEDS);
	if (l->n < 5 || (l->n - 5) % 2 != 0)
		return ERR(l, "feed", "expected 'feed NAME SOURCE FORMAT TARGET [interval SECONDS] "
			   "[max RECORDS] [domain ID]'");
	if (!feed_name_ok(l->w[1]))
		return ERR(l, "feed", "name '%s': 1 to 63 of A-Z a-z 0-9 _ -", l->w[1]);
	for (unsigned i = 0; i < cfg->n_feeds; i++)
		if (strcmp(cfg->feeds[i].name, l->w[1]) == 0)
			return ERR(l, "feed", "a feed '%s' is defined already", l->w[1]);
	for (size_t i = 0; i < sizeof(feed_sources) / sizeof(feed_sources[0]); i++)
		known |= strcmp(l->w[2], feed_sources[i]) == 0;
	if (!known)
		return ERR(l, "feed", "unknown source '%s' (expected usage or invoices)", l->w[2]);
	if (strcmp(l->w[3], "csv") && strcmp(l->w[3], "jsonl") && strcmp(l->w[3], "ipfix"))
		return ERR(l, "feed", "unknown format '%s' (expected csv, jsonl or ipfix)", l->w[3]);
	if (strcmp(l->w[3], "ipfix") == 0 && strcmp(l->w[2], "usage") != 0)
		return ERR(l, "feed", "format ipfix carries usage records only, not %s (use csv "
			   "or jsonl)", l->w[2]);
	if (strcmp(l->w[3], "ipfix") == 0 ? strchr(l->w[4], ':') == NULL : l->w[4][0] != '/')
		return ERR(l, "feed", "target '%s': expected %s", l->w[4],
			   strcmp(l->w[3], "ipfix") == 0 ? "HOST:PORT" : "an absolute directory");
	if (strlen(l->w[4]) >= sizeof(f->target) - 64)
		return ERR(l, "feed", "target longer than %zu bytes", sizeof(f->target) - 65);
	*f = (struct ctl_feed){.interval_s = 60, .max_records = 100000, .domain = 1};
	snprintf(f->name, sizeof(f->name), "%s", l->w[1]);
	snprintf(f->source, sizeof(f->source), "%s", l->w[2]);
	snprintf(f->format, sizeof(f->format), "%s", l->w[3]);
	snprintf(f->target, sizeof(f->target), "%s", l->w[4]);
	for (unsigned i = 5; i < l->n; i += 2) {
		if (strcmp(l->w[i], "interval") == 0 &&
		    conf_parse_uint(l->w[i + 1], 1, 86400, &v) == 0)
			f->interval_s = (unsigned)v;
		else if (strcmp(l->w[i], "max") == 0 &&
			 conf_parse_uint(l->w[i + 1], 1, 10000000, &v) == 0)
			f->max_records = (unsigned)v;
		else if (strcmp(l->w[i], "domain") == 0 &&
			 conf_parse_uint(l->w[i + 1], 0, 4294967295ul, &v) == 0)
			f->domain = (unsigned)v;
		else
			return ERR(l, "feed", "'%s %s': expected interval 1-86400, max 1-10000000 "
				   "or domain 0-4294967295", l->w[i], l->w[i + 1]);
	}
	cfg->n_feeds++;
	return 0;
}

static int
parse_on_off(const char *name, const struct conf_line *l, bool *ret, char *err, size_t errlen)
{
	if (l->n != 2 || (strcmp(l->w[1], "on") != 0 && strcmp(l->w[1], "off") != 0))
		return ERR(l, l->w[0], "expected on or off");
	*ret = strcmp(l->w[1], "on") == 0;
	return 0;
}

/* A dunning step: the first replaces the defaults; steps keep the order of their days. */
static int
parse_dunning(const char *name, const struct conf_line *l, struct ctl_config *cfg, char *err,
	      size_t errlen)
{
	struct billing_config *b = &cfg->billing;
	enum billing_dunning_action a;
	unsigned long days;

	if (l->n != 3)
		return ERR(l, l->w[0], "expected 'billing-dunning DAYS reminder|walled-garden|suspend'");
	if (conf_parse_uint(l->w[1], 0, 3650, &days) < 0)
		return ERR(l, l->w[0], "days '%s' is not an integer in [0, 3650]", l->w[1]);
	if (billing_dunning_action_parse(l->w[2], &a) < 0)
		return ERR(l, l->w[0], "action '%s' is not reminder, walled-garden or suspend",
			   l->w[2]);
	if (!cfg->billing_dunning_set) {
		b->n_dunning = 0;
		cfg->billing_dunning_set = true;
	}
	if (b->n_dunning >= BILLING_DUNNING_STEPS_MAX)
		return ERR(l, l->w[0], "more than %d steps", BILLING_DUNNING_STEPS_MAX);
	if (b->n_dunning > 0 && b->dunning[b->n_dunning - 1].days >= days)
		return ERR(l, l->w[0], "steps must come in growing days (%lu after %u)", days,
			   b->dunning[b->n_dunning - 1].days);
	b->dunning[b->n_dunning++] = (struct billing_dunning_step){(unsigned)days, a};
	return 0;
}

static int
parse_billing(const char *name, const struct conf_line *l, struct ctl_config *cfg, char *err,
	      size_t errlen)
{
	struct billing_config *b = &cfg->billing;
	const char *k = l->w[0];

	if (strcmp(k, "billing-tax-rate") == 0) {
		if (l->n != 2 || billing_rate_parse(l->w[1], &b->tax_bp) < 0)
			return ERR(l, k, "expected a percent from 0 to 100, at most two decimals "
					 "(20, 7.7)");
	} else if (strcmp(k, "billing-cycle") == 0) {
		if (l->n != 2 ||
		    (strcmp(l->w[1], "calendar") != 0 && strcmp(l->w[1], "anniversary") != 0))
			return ERR(l, k, "expected calendar or anniversary");
		b->anniversary = strcmp(l->w[1], "anniversary") == 0;
	} else if (strcmp(k, "billing-payment-terms") == 0) {
		return parse_uint_arg(name, l, 0, 365, &b->payment_terms_days, err, errlen);
	} else if (strcmp(k, "billing-currency") == 0) {
		if (l->n != 2 || billing_currency_digits(l->w[1]) < 0)
			return ERR(l, k, "expected an ISO 4217 code (EUR)");
		snprintf(b->currency, sizeof(b->currency), "%s", l->w[1]);
	} else if (strcmp(k, "billing-auto-send") == 0) {
		return parse_on_off(name, l, &b->auto_send, err, errlen);
	} else if (strcmp(k, "billing-schedule") == 0) {
		return parse_on_off(name, l, &b->schedule, err, errlen);
	} else if (strcmp(k, "billing-dunning") == 0) {
		return parse_dunning(name, l, cfg, err, errlen);
	} else if (strcmp(k, "billing-dunning-interval") == 0) {
		return parse_uint_arg(name, l, 1, 86400, &b->dunning_interval_s, err, errlen);
	} else {
		return ERR(l, k,
			   "unknown keyword (expected billing-tax-rate, billing-cycle, "
			   "billing-payment-terms, billing-currency, billing-auto-send, "
			   "billing-schedule, billing-dunning, billing-dunning-interval)");
	}
	return 0;
}

static int
parse_line(const char *name, const struct conf_line *l, struct ctl_config *cfg, char *err,
	   size_t errlen)
{
	const char *k = l->w[0];

	if (strcmp(k, "state-dir") == 0) {
		if (l->n != 2 || l->w[1][0] != '/' || strlen(l->w[1]) >= sizeof(cfg->state_dir) - 16)
			return ERR(l, k, "expected an absolute directory path");
		snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", l->w[1]);
		if (cfg->database_embedded)
			embedded_url(cfg);
	} else if (strcmp(k, "database") == 0) {
		if (l->n != 2)
			return ERR(l, k, "expected a postgresql:// URL or 'embedded'");
		if (strcmp(l->w[1], "embedded") == 0) {
			cfg->database_embedded = true;
			embedded_url(cfg);
		} else if (strncmp(l->w[1], "postgresql://", 13) == 0 ||
			   strncmp(l->w[1], "postgres://", 11) == 0) {
			if (strlen(l->w[1]) >= sizeof(cfg->database))
				return ERR(l, k, "URL longer than %zu bytes", sizeof(cfg->database) - 1);
			cfg->database_embedded = false;
			snprintf(cfg->database, sizeof(cfg->database), "%s", l->w[1]);
		} else {
			return ERR(l, k, "'%s' is neither a postgresql:// URL nor 'embedded'", l->w[1]);
		}
	} else if (strcmp(k, "listen") == 0) {
		unsigned long port = cfg->port;

		if (l->n < 2 || l->n > 3 || strlen(l->w[1]) >= sizeof(cfg->listen_addr))
			return ERR(l, k, "expected 'listen ADDRESS [PORT]'");
		if (l->n == 3 && conf_parse_uint(l->w[2], 1, 65535, &port) < 0)
			return ERR(l, k, "port '%s' is not in [1, 65535]", l->w[2]);
		snprintf(cfg->listen_addr, sizeof(cfg->listen_addr), "%s", l->w[1]);
		cfg->port = (unsigned)port;
	} else if (strcmp(k, "log-level") == 0) {
		if (l->n != 2 || cuco_log_level_parse(l->w[1], &cfg->log_level) < 0)
			return ERR(l, k, "expected error, warning, info or debug");
	} else if (strcmp(k, "log-format") == 0) {
		if (l->n != 2 || (strcmp(l->w[1], "json") != 0 && strcmp(l->w[1], "text") != 0))
			return ERR(l, k, "expected json or text");
		cfg->log_json = strcmp(l->w[1], "json") == 0;
	} else if (strcmp(k, "token-lifetime") == 0) {
		return parse_uint_arg(name, l, 30, 86400, &cfg->token_lifetime_s, err, errlen);
	} else if (strcmp(k, "refresh-lifetime") == 0) {
		return parse_uint_arg(name, l, 60, 30 * 86400, &cfg->refresh_lifetime_s, err, errlen);
	} else if (strcmp(k, "max-body") == 0) {
		if (l->n != 2 || parse_size(l->w[1], &cfg->max_body) < 0 || cfg->max_body < 1024 ||
		    cfg->max_body > (64u << 20))
			return ERR(l, k, "expected a size between 1k and 64M");
	} else if (strcmp(k, "rate-limit") == 0) {
		return parse_rate_limit(name, l, cfg, err, errlen);
	} else if (strcmp(k, "dead-letter-attempts") == 0) {
		return parse_uint_arg(name, l, 1, 100, &cfg->dead_letter_attempts, err, errlen);
	} else if (strcmp(k, "drain-timeout") == 0) {
		return parse_uint_arg(name, l, 0, 300, &cfg->drain_timeout_s, err, errlen);
	} else if (strcmp(k, "provision-timeout") == 0) {
		return parse_uint_arg(name, l, 1, 86400, &cfg->provision_timeout_s, err, errlen);
	} else if (strcmp(k, "domains") == 0) {
		if (l->n < 2 || l->n - 1 > CTL_MAX_DOMAINS)
			return ERR(l, k, "expected one or more domain names");
		cfg->n_domains = 0;
		for (unsigned i = 1; i < l->n; i++) {
			if (!domain_known(l->w[i]))
				return ERR(l, k, "unknown domain '%s'", l->w[i]);
			snprintf(cfg->domains[cfg->n_domains++], sizeof(cfg->domains[0]), "%s",
				 l->w[i]);
		}
	} else if (strcmp(k, "endpoint") == 0 || strcmp(k, "bind") == 0) {
		bool bind = k[0] == 'b';
		unsigned *n = bind ? &cfg->n_binds : &cfg->n_endpoints;

		if (*n >= CTL_MAX_DOMAINS)
			return ERR(l, k, "more than %d", CTL_MAX_DOMAINS);
		if (parse_endpoint(name, l, bind ? &cfg->binds[*n] : &cfg->endpoints[*n], err,
				   errlen) < 0)
			return -EINVAL;
		(*n)++;
	} else if (strcmp(k, "feed") == 0) {
		return parse_feed(name, l, cfg, err, errlen);
	} else if (strncmp(k, "billing-", 8) == 0) {
		return parse_billing(name, l, cfg, err, errlen);
	} else {
		return ERR(l, k,
			   "unknown keyword (expected state-dir, database, listen, log-level, "
			   "log-format, token-lifetime, refresh-lifetime, max-body, rate-limit, "
			   "dead-letter-attempts, drain-timeout, provision-timeout, domains, "
			   "endpoint, bind, feed, billing-*)");
	}
	return 0;
}

int
ctl_config_parse(const char *name, const char *buf, size_t len, struct ctl_config *cfg, char *err,
		 size_t errlen)
{
	struct conf_reader *r;
	struct conf_line line;
	int ret;

	r = malloc(sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	snprintf(cfg->path, sizeof(cfg->path), "%s", name);
	conf_reader_init(r, name, buf, len);
	while ((ret = conf_next_line(r, &line, err, errlen)) > 0) {
		ret = parse_line(name, &line, cfg, err, errlen);
		if (ret < 0)
			break;
	}
	free(r);
	return ret < 0 ? -EINVAL : 0;
}

int
ctl_config_load(const char *path, struct ctl_config *cfg, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int ret;

	ret = conf_read_file(path, &buf, &len);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EFBIG ? "file larger than 1 MiB" : strerror(-ret));
		return -EINVAL;
	}
	ret = ctl_config_parse(path, buf, len, cfg, err, errlen);
	free(buf);
	return ret;
}

bool
ctl_config_hosts(const struct ctl_config *cfg, const char *domain)
{
	if (cfg->n_domains == 0)
		return true;
	for (unsigned i = 0; i < cfg->n_domains; i++)
		if (strcmp(cfg->domains[i], domain) == 0)
			return true;
	return false;
}
