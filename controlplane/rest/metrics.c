/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Request counters and latency histograms per route pattern, rendered in the
 * Prometheus text exposition format (version 0.0.4).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/rest/rest_internal.h"

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t bucket_us[] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
/* Distinct statuses kept per route; more are counted as status "other". */
#define NSTATUS 24

struct rest_route_metrics {
	struct rest_route_metrics *next;
	char *pattern;
	char method[8];
	struct {
		unsigned status;
		uint64_t count;
	} st[NSTATUS];
	unsigned nst;
	uint64_t other;
	uint64_t buckets[NBUCKETS]; /* not cumulative; summed when rendered */
	uint64_t count;
	uint64_t sum_us;
};

struct rest_metrics {
	pthread_mutex_t lock;
	struct rest_route_metrics *head, **tail;
};

struct rest_metrics *
rest_metrics_new(void)
{
	struct rest_metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->tail = &m->head;
	return m;
}

struct rest_metrics *
rest_metrics_free(struct rest_metrics *m)
{
	if (m == NULL)
		return NULL;
	while (m->head) {
		struct rest_route_metrics *rm = m->head;

		m->head = rm->next;
		free(rm->pattern);
		free(rm);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
	return NULL;
}

struct rest_route_metrics *
rest_metrics_route(struct rest_metrics *m, const char *pattern, const char *method)
{
	struct rest_route_metrics *rm;

	pthread_mutex_lock(&m->lock);
	for (rm = m->head; rm; rm = rm->next)
		if (strcmp(rm->pattern, pattern) == 0 && strcmp(rm->method, method) == 0)
			goto out_unlock;
	rm = calloc(1, sizeof(*rm));
	if (rm == NULL)
		goto out_unlock;
	rm->pattern = strdup(pattern);
	if (rm->pattern == NULL) {
		free(rm);
		rm = NULL;
		goto out_unlock;
	}
	snprintf(rm->method, sizeof(rm->method), "%s", method);
	*m->tail = rm;
	m->tail = &rm->next;
out_unlock:
	pthread_mutex_unlock(&m->lock);
	return rm;
}

void
rest_metrics_observe(struct rest_metrics *m, struct rest_route_metrics *rm, const char *method,
		     unsigned status, uint64_t duration_us)
{
	unsigned i;

	if (rm == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < rm->nst && rm->st[i].status != status; i++)
		;
	if (i < rm->nst) {
		rm->st[i].count++;
	} else if (rm->nst < NSTATUS) {
		rm->st[rm->nst].status = status;
		rm->st[rm->nst++].count = 1;
	} else {
		rm->other++;
	}
	for (i = 0; i < NBUCKETS && duration_us > bucket_us[i]; i++)
		;
	if (i < NBUCKETS)
		rm->buckets[i]++;
	rm->count++;
	rm->sum_us += duration_us;
	pthread_mutex_unlock(&m->lock);
}

/* A label value: backslash, double quote and newline escaped. */
static void
label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
series(FILE *f, const char *name, const struct rest_route_metrics *rm)
{
	fprintf(f, "%s{route=\"", name);
	label(f, rm->pattern);
	fprintf(f, "\",method=\"%s\"", rm->method);
}

static void
render_counts(FILE *f, const struct rest_metrics *m)
{
	fputs("# HELP cuco_http_requests_total HTTP requests answered, by route pattern, method "
	      "and status.\n# TYPE cuco_http_requests_total counter\n",
	      f);
	for (const struct rest_route_metrics *rm = m->head; rm; rm = rm->next) {
		for (unsigned i = 0; i < rm->nst; i++) {
			series(f, "cuco_http_requests_total", rm);
			fprintf(f, ",status=\"%u\"} %llu\n", rm->st[i].status,
				(unsigned long long)rm->st[i].count);
		}
		if (rm->other) {
			series(f, "cuco_http_requests_total", rm);
			fprintf(f, ",status=\"other\"} %llu\n", (unsigned long long)rm->other);
		}
	}
}

static void
render_latency(FILE *f, const struct rest_metrics *m)
{
	fputs("# HELP cuco_http_request_duration_seconds Time from request to answer, by route "
	      "pattern and method.\n# TYPE cuco_http_request_duration_seconds histogram\n",
	      f);
	for (const struct rest_route_metrics *rm = m->head; rm; rm = rm->next) {
		uint64_t cum = 0;

		if (rm->count == 0)
			continue;
		for (unsigned i = 0; i < NBUCKETS; i++) {
			cum += rm->buckets[i];
			series(f, "cuco_http_request_duration_seconds_bucket", rm);
			fprintf(f, ",le=\"%g\"} %llu\n", (double)bucket_us[i] / 1e6,
				(unsigned long long)cum);
		}
		series(f, "cuco_http_request_duration_seconds_bucket", rm);
		fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)rm->count);
		series(f, "cuco_http_request_duration_seconds_sum", rm);
		fprintf(f, "} %.6f\n", (double)rm->sum_us / 1e6);
		series(f, "cuco_http_request_duration_seconds_count", rm);
		fprintf(f, "} %llu\n", (unsigned long long)rm->count);
	}
}

char *
rest_metrics_render(struct rest_metrics *m, unsigned in_flight,
		    void (*extra)(void *arg, FILE *out), void *arg, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	pthread_mutex_lock(&m->lock);
	render_counts(f, m);
	render_latency(f, m);
	pthread_mutex_unlock(&m->lock);
	fprintf(f,
		"# HELP cuco_http_requests_in_flight Requests being answered.\n"
		"# TYPE cuco_http_requests_in_flight gauge\ncuco_http_requests_in_flight %u\n",
		in_flight);
	if (extra)
		extra(arg, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*ret_len = len;
	return buf;
}
