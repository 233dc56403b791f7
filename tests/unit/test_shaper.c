/* SPDX-License-Identifier: BSD-3-Clause */
/* Downstream shaper: lazy pipe set-up per profile version, and release at the pipe's rate. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "dataplane/shaper.h"

static struct rte_mempool *pool;

static void
test_pipes(void **state)
{
	struct sub_meter_profile mp = {.shape = 1, .version = 7, .shape_rate = 125000,
				       .shape_size = 3000};
	struct dp_shaper sh;

	assert_int_equal(dp_shaper_init(&sh, "t_shp1", 1000000000ull, 16, 100), 0);
	assert_int_equal(sh.n_pipes, 128); /* a power of two */
	assert_int_equal(dp_shaper_pipe(&sh, 5, &mp, 3), 0);
	assert_int_equal(sh.pipe_version[5], 7);
	assert_int_equal(sh.n_pipe_profiles, 2);
	/* the same profile version for another slot reuses its pipe profile */
	assert_int_equal(dp_shaper_pipe(&sh, 6, &mp, 3), 0);
	assert_int_equal(sh.n_pipe_profiles, 2);
	/* a new version makes a new pipe profile */
	mp.version = 8;
	mp.shape_rate = 250000;
	assert_int_equal(dp_shaper_pipe(&sh, 5, &mp, 3), 0);
	assert_int_equal(sh.n_pipe_profiles, 3);
	dp_shaper_fini(&sh);
}

static void
test_release_rate(void **state)
{
	/* 1 Mbit/s with a 3000-byte bucket: about three 1000-byte frames at once */
	struct sub_meter_profile mp = {.shape = 1, .version = 1, .shape_rate = 125000,
				       .shape_size = 3000};
	struct rte_mbuf *in[10], *out[16];
	struct dp_shaper sh;
	uint64_t deadline;
	int i, got = 0, n;

	assert_int_equal(dp_shaper_init(&sh, "t_shp2", 1000000000ull, 16, 16), 0);
	assert_int_equal(dp_shaper_pipe(&sh, 2, &mp, 0), 0);
	for (i = 0; i < 10; i++) {
		in[i] = rte_pktmbuf_alloc(pool);
		assert_non_null(in[i]);
		assert_non_null(rte_pktmbuf_append(in[i], 1000));
		rte_sched_port_pkt_write(sh.sched, in[i], 0, 2, SHAPER_TC, 0, RTE_COLOR_GREEN);
	}
	assert_int_equal(rte_sched_port_enqueue(sh.sched, in, 10), 10);
	/* the first few go at once; the rest only as the bucket refills (~8 ms each) */
	deadline = rte_get_tsc_cycles() + rte_get_tsc_hz() / 200; /* 5 ms */
	while (rte_get_tsc_cycles() < deadline) {
		n = rte_sched_port_dequeue(sh.sched, out, 16);
		if (n > 0) {
			rte_pktmbuf_free_bulk(out, (unsigned)n);
			got += n;
		}
	}
	assert_in_range(got, 1, 4);
	deadline = rte_get_tsc_cycles() + rte_get_tsc_hz() / 2; /* 500 ms: all of them */
	while (got < 10 && rte_get_tsc_cycles() < deadline) {
		n = rte_sched_port_dequeue(sh.sched, out, 16);
		if (n > 0) {
			rte_pktmbuf_free_bulk(out, (unsigned)n);
			got += n;
		}
	}
	assert_int_equal(got, 10);
	dp_shaper_fini(&sh);
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "256", "--no-pci", "--no-shconf", "-l", "0",
		       "--log-level", "error", "--no-telemetry", NULL};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipes),
		cmocka_unit_test(test_release_rate),
	};
	int ret;

	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	pool = rte_pktmbuf_pool_create("t_shp", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		return 1;
	ret = cmocka_run_group_tests_name("shaper", tests, NULL, NULL);
	rte_eal_cleanup();
	return ret;
}
