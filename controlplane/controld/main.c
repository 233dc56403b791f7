/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cuco-controld: the control plane's service host. See docs/man/cuco-controld.8.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "controlplane/controld/config.h"
#include "controlplane/controld/host.h"

#define DEFAULT_CONFIG "/etc/cuco/controld.conf"

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: cuco-controld [OPTIONS] [COMMAND]\n"
		"\n"
		"The CuCo Edge control plane: hosts the business domains (security, customer,\n"
		"catalog, order, billing, network, support), each on its own PostgreSQL schema,\n"
		"talking by messages on a ZeroMQ bus, and serves the REST gateway: TM Forum\n"
		"Open APIs under /tmf-api/<apiName>/v4/, the appliance's own resources under\n"
		"/api/v1/ (OpenAPI document at /api/v1/openapi.json), /healthz, /readyz and\n"
		"/metrics.\n"
		"\n"
		"Commands:\n"
		"  run            (default) migrate the database, then serve until SIGTERM or\n"
		"                 SIGINT; SIGTERM lets requests in flight finish first\n"
		"  migrate        bring every hosted domain's schema up to date and exit\n"
		"  check-config   read the configuration, report the first error, exit\n"
		"  audit verify   check the audit log's chain: exit 0 when intact, 1 with the\n"
		"                 first changed, removed or inserted record otherwise\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE      configuration file (default " DEFAULT_CONFIG
		"; the\n"
		"                         defaults apply when that file does not exist)\n"
		"  -s, --state-dir DIR    keys and the embedded database (default /var/lib/cuco)\n"
		"  -d, --database URL     a postgresql:// URL, or 'embedded' (the private\n"
		"                         cluster under STATE-DIR/pg; the default)\n"
		"  -l, --listen ADDR[:PORT]  the REST gateway (default 127.0.0.1:8080)\n"
		"      --log-format json|text  one JSON object a line (default) or text\n"
		"  -v, --verbose          debug logging\n"
		"  -h, --help             this text\n"
		"  -V, --version          the version\n"
		"\n"
		"On the first start, with no users yet, it creates the user 'admin' and prints\n"
		"a one-time password once; it must be changed at the first login\n"
		"(POST /api/v1/auth/password).\n"
		"\n"
		"Exit status: 0 success or clean stop, 1 runtime failure, 2 bad usage or\n"
		"configuration. Configuration keywords: man cuco-controld.\n");
}

struct overrides {
	const char *state_dir, *database, *listen, *log_format;
	bool verbose;
};

static int
apply_overrides(struct ctl_config *cfg, const struct overrides *o, char *err, size_t errlen)
{
	char text[1024];
	int n = 0;

	/* Overrides are config lines parsed after the file: one validation path. */
	if (o->state_dir)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "state-dir \"%s\"\n", o->state_dir);
	if (o->database && n < (int)sizeof(text))
		n += snprintf(text + n, sizeof(text) - (size_t)n, "database \"%s\"\n", o->database);
	if (o->listen && n < (int)sizeof(text)) {
		const char *colon = strrchr(o->listen, ':');

		if (colon != NULL && strchr(o->listen, ':') == colon)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "listen \"%.*s\" \"%s\"\n",
				      (int)(colon - o->listen), o->listen, colon + 1);
		else
			n += snprintf(text + n, sizeof(text) - (size_t)n, "listen \"%s\"\n",
				      o->listen);
	}
	if (o->log_format && n < (int)sizeof(text))
		n += snprintf(text + n, sizeof(text) - (size_t)n, "log-format \"%s\"\n",
			      o->log_format);
	if (o->verbose && n < (int)sizeof(text))
		n += snprintf(text + n, sizeof(text) - (size_t)n, "log-level debug\n");
	if (n >= (int)sizeof(text)) {
		snprintf(err, errlen, "command line: options too long");
		return -EINVAL;
	}
	return ctl_config_parse("command line", text, (size_t)n, cfg, err, errlen);
}

static int
load_config(const char *path, const struct overrides *o, struct ctl_config *cfg)
{
	char err[512];
	char path_copy[256];

	ctl_config_defaults(cfg);
	if (path != NULL || access(DEFAULT_CONFIG, F_OK) == 0) {
		if (ctl_config_load(path ? path : DEFAULT_CONFIG, cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "cuco-controld: %s\n", err);
			return -EINVAL;
		}
	}
	snprintf(path_copy, sizeof(path_copy), "%s", cfg->path);
	if (apply_overrides(cfg, o, err, sizeof(err)) < 0) {
		fprintf(stderr, "cuco-controld: %s\n", err);
		return -EINVAL;
	}
	snprintf(cfg->path, sizeof(cfg->path), "%s", path_copy);
	return 0;
}

static int
prepare_state_dir(const struct ctl_config *cfg)
{
	char sub[300];

	if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) {
		log_err("state directory %s: %s", cfg->state_dir, strerror(errno));
		return -errno;
	}
	snprintf(sub, sizeof(sub), "%s/security", cfg->state_dir);
	if (mkdir(sub, 0700) < 0 && errno != EEXIST) {
		log_err("state directory %s: %s", sub, strerror(errno));
		return -errno;
	}
	return 0;
}

static int
serve(const struct ctl_config *cfg)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct host *h;
	int ret;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = host_start(cfg, &h);
	if (ret < 0)
		return 1;
	log_info("ready: REST gateway on http://%s:%u/", cfg->listen_addr, cfg->port);
	while (stop_signal == 0) {
		usleep(200 * 1000);
		if (host_check(h) < 0) {
			log_err("a service thread failed; stopping");
			host_stop(h);
			return 1;
		}
	}
	log_info("%s: draining requests (at most %u s), then stopping",
		 strsignal(stop_signal), cfg->drain_timeout_s);
	host_stop(h);
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 's'},
		{"database", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'F'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct overrides o = {0};
	const char *config_path = NULL;
	struct ctl_config cfg;
	const char *cmd;
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:s:d:l:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 's': o.state_dir = optarg; break;
		case 'd': o.database = optarg; break;
		case 'l': o.listen = optarg; break;
		case 'F': o.log_format = optarg; break;
		case 'v': o.verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cuco-controld 0.1.0\n"); return 0;
		default:
			fprintf(stderr, "cuco-controld: try --help\n");
			return 2;
		}
	}
	cmd = optind < argc ? argv[optind] : "run";
	if (load_config(config_path, &o, &cfg) < 0)
		return 2;
	cuco_log_init("cuco-controld", cfg.log_level);
	cuco_log_set_json(cfg.log_json);

	if (strcmp(cmd, "check-config") == 0 && optind + 1 >= argc) {
		printf("%s: valid\n", config_path ? config_path : "configuration");
		return 0;
	}
	if (strcmp(cmd, "run") == 0 && optind + 1 >= argc) {
		if (prepare_state_dir(&cfg) < 0)
			return 1;
		return serve(&cfg);
	}
	if (strcmp(cmd, "migrate") == 0 && optind + 1 >= argc)
		return host_migrate(&cfg) < 0 ? 1 : 0;
	if (strcmp(cmd, "audit") == 0 && optind + 2 == argc && strcmp(argv[optind + 1], "verify") == 0) {
		if (prepare_state_dir(&cfg) < 0)
			return 1;
		ret = host_audit_verify(&cfg);
		return ret < 0 ? 1 : ret;
	}
	fprintf(stderr, "cuco-controld: unknown command '%s' (expected run, migrate, check-config "
			"or audit verify; try --help)\n", cmd);
	return 2;
}
