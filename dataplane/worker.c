/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/dp.h"
#include "dataplane/nodes/eth_input.h"
#include "dataplane/nodes/eth_output.h"
#include "dataplane/nodes/ip4_forward.h"
#include "dataplane/nodes/ip4_input.h"
#include "dataplane/nodes/ip6_forward.h"
#include "dataplane/nodes/ip6_input.h"
#include "dataplane/nodes/sub_enforce.h"
#include "dataplane/nodes/verdict.h"
#include "dataplane/nodes/vlan_punt.h"

/*
 * The worker's burst loop: for each RX queue it owns, receive a burst, decide
 * each packet (eth_input -> ip4/ip6 input -> forward -> eth_output, or punt,
 * or drop), buffer outputs per port, and flush them once per burst. Frames
 * the kernel writes on a tap leave by that tap's port untouched.
 */

static __rte_noinline void
drop_pkt(struct dp_worker *w, struct rte_mbuf *m, unsigned in, enum dp_drop_reason r)
{
	w->stats[in].drop[r]++;
	w->stats[in].dropped++;
	rte_pktmbuf_free(m);
}

/* Token bucket per port: the kernel is the slow path, keep it alive under a flood. */
static __rte_noinline bool
punt_allowed(struct dp_worker *w, unsigned in)
{
	struct dp_punt_bucket *b = &w->bucket[in];
	uint64_t now, hz, add;

	if (b->tokens > 0) {
		b->tokens--;
		return true;
	}
	now = rte_rdtsc();
	hz = rte_get_tsc_hz();
	add = (now - b->last_tsc) * w->punt_rate / hz;
	if (add == 0)
		return false;
	b->last_tsc = now;
	b->tokens = RTE_MIN(add, w->punt_burst) - 1;
	return true;
}

static __rte_noinline void
punt_pkt(struct dp_worker *w, struct rte_mbuf *m, unsigned in, enum dp_punt_reason r)
{
	struct dp_txbuf *b = &w->punt[in];

	if (!punt_allowed(w, in)) {
		drop_pkt(w, m, in, DP_DROP_PUNT_RATELIMIT);
		return;
	}
	w->stats[in].punt[r]++;
	w->stats[in].punted++;
	b->pkts[b->n++] = m; /* the buffer holds a burst: flushed after each */
}

static const enum dp_drop_reason sub_to_drop[SUB_DROP_MAX] = {
	[SUB_DROP_SUSPENDED] = DP_DROP_SUB_SUSPENDED,
	[SUB_DROP_WALLED_GARDEN] = DP_DROP_SUB_WALLED_GARDEN,
	[SUB_DROP_METER] = DP_DROP_SUB_METER,
	[SUB_DROP_UNKNOWN] = DP_DROP_SUB_UNKNOWN,
	[SUB_DROP_SHAPER] = DP_DROP_SUB_SHAPER,
};

/*
 * Queue a downstream packet of @slot in the output port's shaper: its pipe
 * set up for the profile, room in its bounded queue, counted as forwarded
 * once queued. Returns DP_DROP_NONE when queued (or, if no pipe profile is
 * left, to be sent unshaped), or the drop reason.
 */
static __rte_noinline enum dp_drop_reason
shape_pkt(struct dp_worker *w, struct rte_mbuf *m, const struct sub_set *s, uint32_t slot,
	  unsigned out, uint32_t len, bool *ret_shaped)
{
	struct dp_shaper *sh = &w->shaper[out];
	const struct sub_tables *t = w->dp->subt;
	const struct sub_slot *ss = sub_slot_of(t, s, slot, SUB_DOWN);
	const struct sub_meter_profile *mp = &s->profiles[ss->profile].dir[SUB_DOWN];
	struct sub_count_hot *c = sub_hot_of(t, w->index, slot, SUB_DOWN);

	if (slot >= sh->n_pipes ||
	    (sh->pipe_version[slot] != mp->version && dp_shaper_pipe(sh, slot, mp, ss->profile) < 0)) {
		sub_count_fwd(c, len);
		return DP_DROP_NONE;
	}
	sub_count_colour(c, SUB_GREEN, len);
	if (sh->inflight[slot] >= sh->qsize) {
		sub_count_drop(sub_drops_of(t, w->index, slot, SUB_DOWN), SUB_DROP_SHAPER, len);
		return DP_DROP_SUB_SHAPER;
	}
	sub_count_fwd(c, len);
	sh->inflight[slot]++;
	rte_sched_port_pkt_write(sh->sched, m, 0, slot, SHAPER_TC, 0, RTE_COLOR_GREEN);
	*ret_shaped = true;
	return DP_DROP_NONE;
}

/*
 * Subscriber enforcement of a packet routed from port @in to port @out
 * towards next hop @nh on VLAN @nh_vlan: upstream if it came from an access
 * port, downstream if it leaves by one (both for traffic between two
 * subscribers). Returns DP_DROP_NONE to forward.
 */
static inline enum dp_drop_reason
enforce(struct dp_worker *w, struct rte_mbuf *m, uint8_t *frame, const struct pkt_meta *meta,
	const struct sub_l4 *l4, uint32_t l3_len, unsigned in, unsigned out, uint64_t nh,
	uint32_t nh_vlan, bool can_shape, bool *ret_shaped, int32_t pre)
{
	const struct dp *dp = w->dp;
	const struct sub_tables *t = dp->subt;
	/* Acquire: pairs with the release that makes the sets exist. */
	const struct sub_set *s = __atomic_load_n(&t->set[0], __ATOMIC_ACQUIRE) != NULL
					  ? sub_active_set(t) : NULL;
	int32_t pre_up = SUB_PRE_NONE, pre_down = SUB_PRE_NONE;
	/* One time for the burst, as if its packets arrived together (rdtsc is slow here). */
	uint64_t now = w->burst_tsc;
	enum sub_drop_reason r;
	uint32_t slot = 0;

	/*
	 * A pre-classified slot (or miss) holds only if no batch was published
	 * since, and, downstream, if the next hop's VLAN (which comes first)
	 * cannot name a subscriber.
	 */
	if (pre != SUB_PRE_NONE && s == w->pre_set) {
		if (dp->ports[in].role == DP_ROLE_ACCESS)
			pre_up = pre;
		else if (nh_vlan == 0 || s->n_vlan == 0)
			pre_down = pre;
	}

	if (dp->ports[in].role == DP_ROLE_ACCESS) {
		r = sub_enforce_dir(t, s, w->index, frame, meta, l4, l3_len, SUB_UP, (uint8_t)in,
				    dp->ports[in].unknown_drop, now, false, NULL, 0, NULL, pre_up);
		if (r != SUB_DROP_MAX)
			return sub_to_drop[r];
	}
	if (dp->ports[out].role == DP_ROLE_ACCESS) {
		struct rte_ether_addr mac;

		if (nh_word_resolved(nh))
			nh_word_mac(nh, &mac);
		r = sub_enforce_dir(t, s, w->index, frame, meta, l4, l3_len, SUB_DOWN, (uint8_t)out,
				    dp->ports[out].unknown_drop, now,
				    can_shape && w->shaper[out].sched != NULL, &slot, nh_vlan,
				    nh_word_resolved(nh) ? mac.addr_bytes : NULL, pre_down);
		if (r == SUB_SHAPE)
			return shape_pkt(w, m, s, slot, out, l3_len, ret_shaped);
		if (r != SUB_DROP_MAX)
			return sub_to_drop[r];
	}
	return DP_DROP_NONE;
}

/*
 * What availability needs of L4, found only for packets that are enforced:
 * the protocol and where the ports are (first IPv4 fragment, or the end of
 * the IPv6 extension chain when it is not a later fragment).
 */
static inline void
sub_l4_fill(struct sub_l4 *l4, uint8_t *frame, const struct pkt_meta *meta, uint32_t l3_len)
{
	uint8_t *l3 = frame + meta->l3_off;
	uint32_t off;

	l4->l3 = l3;
	l4->ethertype = meta->ethertype;
	if (meta->ethertype == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;

		off = (uint32_t)(ip->version_ihl & 0xf) * 4;
		l4->proto = ip->next_proto_id;
		if ((rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) != 0)
			off = UINT32_MAX;
	} else {
		off = (uint32_t)(uintptr_t)l4->l4;
		if (l4->proto == IPPROTO_FRAGMENT)
			l4->proto = 0, off = UINT32_MAX;
	}
	l4->l4 = off != UINT32_MAX && off + 4 <= l3_len ? l3 + off : NULL;
}

static inline void
process_pkt(struct dp_worker *w, struct rte_mbuf *m, unsigned in, int32_t pre)
{
	const struct dp *dp = w->dp;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	enum dp_drop_reason r;
	struct pkt_meta meta;
	struct sub_l4 l4 = {0};
	uint16_t l3_len = 0;
	verdict_t v;
	uint64_t nh = 0;
	uint32_t nh_vlan = 0;

	r = eth_input(frame, len, &dp->ports[in].mac, &meta);
	if (unlikely(r != DP_DROP_NONE))
		goto drop;
	if (likely(meta.ethertype == RTE_ETHER_TYPE_IPV4)) {
		uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

		if (unlikely(ck == RTE_MBUF_F_RX_IP_CKSUM_BAD)) {
			r = DP_DROP_IP4_BAD_CHECKSUM;
			goto drop;
		}
		r = ip4_input_cksum(frame + meta.l3_off, len - meta.l3_off, &l3_len,
				    ck == RTE_MBUF_F_RX_IP_CKSUM_GOOD);
		if (unlikely(r != DP_DROP_NONE))
			goto drop;
		v = ip4_forward(dp, (struct rte_ipv4_hdr *)(frame + meta.l3_off), &nh, &nh_vlan);
	} else if (meta.ethertype == RTE_ETHER_TYPE_IPV6) {
		struct ip6_info info;

		r = ip6_input(frame + meta.l3_off, len - meta.l3_off, &info);
		if (unlikely(r != DP_DROP_NONE))
			goto drop;
		l3_len = info.len;
		l4.proto = info.l4_proto;
		l4.l4 = (uint8_t *)(uintptr_t)info.l4_off; /* an offset until sub_l4_fill() */
		v = ip6_forward(dp, (struct rte_ipv6_hdr *)(frame + meta.l3_off), &info, &nh,
				&nh_vlan);
	} else if (meta.ethertype == RTE_ETHER_TYPE_ARP) {
		/* RFC 826 over Ethernet/IPv4: 28 bytes. */
		if (unlikely(len - meta.l3_off < sizeof(struct rte_arp_hdr))) {
			r = DP_DROP_ARP_TRUNCATED;
			goto drop;
		}
		v = verdict_punt(DP_PUNT_ARP);
	} else {
		r = DP_DROP_UNSUPPORTED_ETHERTYPE;
		goto drop;
	}

	switch (verdict_kind(v)) {
	case VERDICT_FWD: {
		unsigned out = verdict_arg(v);
		struct dp_txbuf *b = &w->out[out];
		bool shaped = false;

		if (unlikely(!eth_output_fits(m, &meta, nh_vlan))) {
			r = DP_DROP_NO_HEADROOM;
			goto drop;
		}
		if (dp->has_access) {
			sub_l4_fill(&l4, frame, &meta, l3_len);
			r = enforce(w, m, frame, &meta, &l4, l3_len, in, out, nh, nh_vlan, true,
				    &shaped, pre);
			if (unlikely(r != DP_DROP_NONE))
				goto drop;
			if (shaped)
				b = &w->shaped[out];
		}
		eth_output(m, &meta, l3_len, nh, nh_vlan, &dp->ports[out]);
		w->stats[in].forwarded++;
		b->pkts[b->n++] = m;
		return;
	}
	case VERDICT_PUNT:
		/*
		 * The kernel forwards a packet whose next hop is unresolved: it is
		 * the subscriber's traffic all the same, policed and counted.
		 */
		if (verdict_arg(v) == DP_PUNT_UNRESOLVED && dp->has_access) {
			sub_l4_fill(&l4, frame, &meta, l3_len);
			r = enforce(w, m, frame, &meta, &l4, l3_len, in, nh_word_port(nh), nh,
				    nh_vlan, false, NULL, pre);
			if (unlikely(r != DP_DROP_NONE))
				goto drop;
		}
		vlan_punt_normalise(frame, &meta);
		punt_pkt(w, m, in, (enum dp_punt_reason)verdict_arg(v));
		return;
	default:
		r = (enum dp_drop_reason)verdict_arg(v);
		break;
	}
drop:
	drop_pkt(w, m, in, r);
}

/* Send what a burst produced; what the queue does not take is counted and freed. */
static void
flush(struct dp_worker *w, struct dp_txbuf *b, uint16_t port_id, unsigned pidx,
      enum dp_drop_reason full_reason)
{
	uint16_t sent, i;
	uint64_t bytes = 0;

	sent = rte_eth_tx_burst(port_id, (uint16_t)w->index, b->pkts, b->n);
	if (full_reason == DP_DROP_TX_FULL) {
		for (i = 0; i < sent; i++)
			bytes += rte_pktmbuf_pkt_len(b->pkts[i]);
		w->stats[pidx].tx_packets += sent;
		w->stats[pidx].tx_bytes += bytes;
	}
	if (unlikely(sent < b->n)) {
		w->stats[pidx].drop[full_reason] += b->n - sent;
		w->stats[pidx].dropped += b->n - sent;
		rte_pktmbuf_free_bulk(&b->pkts[sent], b->n - sent);
	}
	b->n = 0;
}

static void
flush_all(struct dp_worker *w)
{
	const struct dp *dp = w->dp;
	unsigned p;

	for (p = 0; p < dp->n_ports; p++) {
		if (unlikely(w->shaped[p].n > 0)) {
			/* Room was checked per pipe (inflight < qsize): all are taken. */
			rte_sched_port_enqueue(w->shaper[p].sched, w->shaped[p].pkts, w->shaped[p].n);
			w->shaped[p].n = 0;
		}
		if (w->out[p].n > 0)
			flush(w, &w->out[p], dp->ports[p].port_id, p, DP_DROP_TX_FULL);
		if (w->punt[p].n > 0)
			flush(w, &w->punt[p], dp->ports[p].tap_id, p, DP_DROP_PUNT_FULL);
	}
}

static void
from_kernel(struct dp_worker *w, const struct dp_rxq *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_txbuf *b = &w->out[q->pidx];
	uint16_t i;

	/* One burst in, then flushed: the buffer cannot overflow. */
	for (i = 0; i < n; i++)
		b->pkts[b->n++] = pkts[i];
	w->stats[q->pidx].from_kernel += n;
	flush(w, b, w->dp->ports[q->pidx].port_id, q->pidx, DP_DROP_TX_FULL);
}

/* Send what the shapers release now; their pipes' queues shrink. */
static void
shapers_dequeue(struct dp_worker *w)
{
	const struct dp *dp = w->dp;
	unsigned p;

	for (p = 0; p < dp->n_ports; p++) {
		struct dp_shaper *sh = &w->shaper[p];
		struct dp_txbuf *b = &w->out[p];
		uint32_t subport, pipe, tc, queue;
		int n, i;

		if (sh->sched == NULL)
			continue;
		n = rte_sched_port_dequeue(sh->sched, b->pkts, DP_BURST);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++) {
			rte_sched_port_pkt_read_tree_path(sh->sched, b->pkts[i], &subport, &pipe, &tc,
							  &queue);
			if (pipe < sh->n_pipes && sh->inflight[pipe] > 0)
				sh->inflight[pipe]--;
		}
		b->n = (uint16_t)n;
		flush(w, b, dp->ports[p].port_id, p, DP_DROP_TX_FULL);
	}
}

/* Fetch what enforcement of @slot in direction @dir reads, ahead of it. */
static inline void
sub_prefetch_state(const struct dp_worker *w, uint32_t slot, unsigned dir)
{
	const struct sub_tables *t = w->dp->subt;

	rte_prefetch0(sub_meter_of(t, slot, dir));
	rte_prefetch0(sub_hot_of(t, w->index, slot, dir));
}

/* The burst's IPv6 host addresses, @nk of them, all at once in the hash. */
static void
sub_preclassify6(const struct dp_worker *w, const struct sub_set *s, unsigned dir,
		 const struct sub_host_key *keys, const uint16_t *idx, unsigned nk, int32_t *pre)
{
	const void *kp[DP_BURST];
	void *data[DP_BURST];
	uint64_t hits = 0;
	unsigned k;

	for (k = 0; k < nk; k++)
		kp[k] = &keys[k];
	/* 0 hits is an answer too: every key is a known miss. */
	if (nk == 0 || rte_hash_lookup_bulk_data(s->host, kp, nk, &hits, data) < 0)
		return;
	for (k = 0; k < nk; k++) {
		uint32_t slot = (uint32_t)(uintptr_t)data[k];

		if (!(hits & (1ull << k))) {
			pre[idx[k]] = SUB_PRE_NO_HOST;
			continue;
		}
		pre[idx[k]] = (int32_t)slot;
		sub_prefetch_state(w, slot, dir);
	}
}

/*
 * Subscriber classification of a whole burst by host address, before the
 * packets are processed one by one, so that no packet waits alone on cold
 * memory: first every IPv4 packet's host-table bucket is prefetched, then
 * each is read, and each hit's state record (slot entry and meter, and
 * this worker's counters: two adjacent lines) is prefetched; enforcement
 * then finds them in cache. The source address of
 * what comes from an access port, the destination of the rest; untagged
 * IPv4 and IPv6 only, and upstream only when no subscriber is matched by
 * VLAN or MAC (they would come first). @pre[k] is the slot, SUB_PRE_NO_HOST
 * when the host tables have no entry for the address, or SUB_PRE_NONE:
 * classify as usual.
 */
static void
sub_preclassify(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n, unsigned in,
		int32_t *pre)
{
	const struct dp *dp = w->dp;
	const struct sub_tables *t = dp->subt;
	bool up = dp->ports[in].role == DP_ROLE_ACCESS;
	unsigned dir = up ? SUB_UP : SUB_DOWN;
	struct sub_host_key keys6[DP_BURST];
	uint16_t idx6[DP_BURST], idx4[DP_BURST];
	uint32_t addr4[DP_BURST], home4[DP_BURST];
	const struct sub_set *s;
	unsigned n4 = 0, n6 = 0, k;

	for (k = 0; k < n; k++)
		pre[k] = SUB_PRE_NONE;
	w->pre_set = NULL;
	if (__atomic_load_n(&t->set[0], __ATOMIC_ACQUIRE) == NULL)
		return;
	s = sub_active_set(t);
	if ((s->n_host4 == 0 && s->n_host == 0) || (up && (s->n_vlan != 0 || s->n_mac != 0)))
		return;
	for (k = 0; k < n; k++) {
		const uint8_t *f = rte_pktmbuf_mtod(pkts[k], const uint8_t *);
		uint32_t len = rte_pktmbuf_data_len(pkts[k]);

		if (len < RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr))
			continue;
		if (f[12] == 0x08 && f[13] == 0x00) {
			if (s->n_host4 == 0) {
				pre[k] = SUB_PRE_NO_HOST;
				continue;
			}
			memcpy(&addr4[n4], f + RTE_ETHER_HDR_LEN + (up ? 12 : 16), 4);
			home4[n4] = host4_home(&s->host4, addr4[n4]);
			rte_prefetch0(&s->host4.b[home4[n4]]);
			idx4[n4++] = (uint16_t)k;
		} else if (f[12] == 0x86 && f[13] == 0xdd && len >= RTE_ETHER_HDR_LEN + 40) {
			if (s->n_host == 0) {
				pre[k] = SUB_PRE_NO_HOST;
				continue;
			}
			memset(&keys6[n6], 0, sizeof(keys6[n6]));
			keys6[n6].family = AF_INET6;
			memcpy(keys6[n6].addr, f + RTE_ETHER_HDR_LEN + (up ? 8 : 24), 16);
			idx6[n6++] = (uint16_t)k;
		}
	}
	for (k = 0; k < n4; k++) {
		uint32_t slot = host4_lookup_from(&s->host4, home4[k], addr4[k]);

		if (slot == SUB_SLOT_UNKNOWN) {
			/* Classified by prefix or MAC later, without a second lookup. */
			pre[idx4[k]] = SUB_PRE_NO_HOST;
			continue;
		}
		pre[idx4[k]] = (int32_t)slot;
		sub_prefetch_state(w, slot, dir);
	}
	sub_preclassify6(w, s, dir, keys6, idx6, n6, pre);
	w->pre_set = s;
}

static unsigned
poll_once(struct dp_worker *w)
{
	struct rte_mbuf *pkts[DP_BURST];
	int32_t pre[DP_BURST];
	unsigned total = 0, i;
	uint16_t n, k;

	for (i = 0; i < w->n_rxq; i++) {
		const struct dp_rxq *q = &w->rxq[i];
		struct dp_port_stats *st;
		uint64_t bytes = 0;

		n = rte_eth_rx_burst(q->port_id, q->queue, pkts, DP_BURST);
		if (n == 0)
			continue;
		total += n;
		if (q->from_tap) {
			from_kernel(w, q, pkts, n);
			continue;
		}
		for (k = 0; k < n && k < 4; k++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[k], void *));
		if (w->dp->has_access) {
			w->burst_tsc = rte_rdtsc();
			sub_preclassify(w, pkts, n, q->pidx, pre);
		}
		for (k = 0; k < n; k++) {
			if (k + 4 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[k + 4], void *));
			bytes += rte_pktmbuf_pkt_len(pkts[k]);
			process_pkt(w, pkts[k], q->pidx, w->dp->has_access ? pre[k] : SUB_PRE_NONE);
		}
		st = &w->stats[q->pidx];
		st->rx_packets += n;
		st->rx_bytes += bytes;
		flush_all(w);
	}
	return total;
}

int
dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp *dp = w->dp;
	unsigned idle = 0, i;
	uint64_t now = rte_rdtsc();

	for (i = 0; i < DP_MAX_PORTS; i++) {
		w->bucket[i].last_tsc = now;
		w->bucket[i].tokens = w->punt_burst;
	}
	rte_rcu_qsbr_thread_register(dp->qsv, w->index);
	rte_rcu_qsbr_thread_online(dp->qsv, w->index);
	while (!__atomic_load_n(&dp->quit, __ATOMIC_RELAXED)) {
		unsigned n = poll_once(w);

		if (dp->has_shapers)
			shapers_dequeue(w);
		/* Between bursts no table pointer is held: a quiescent state. */
		rte_rcu_qsbr_quiescent(dp->qsv, w->index);
		if (n == 0 && dp->cfg->idle_sleep_us > 0 && ++idle >= 16) {
			/* Offline while asleep, so the control thread does not wait on us. */
			rte_rcu_qsbr_thread_offline(dp->qsv, w->index);
			rte_delay_us_sleep(dp->cfg->idle_sleep_us);
			rte_rcu_qsbr_thread_online(dp->qsv, w->index);
			idle = 0;
		} else if (n != 0) {
			idle = 0;
		}
	}
	rte_rcu_qsbr_thread_offline(dp->qsv, w->index);
	rte_rcu_qsbr_thread_unregister(dp->qsv, w->index);
	return 0;
}

void
dp_stats_port(const struct dp *dp, unsigned pidx, struct dp_port_stats *ret)
{
	unsigned i, r;

	memset(ret, 0, sizeof(*ret));
	for (i = 0; i < dp->n_workers; i++) {
		/* Single writer per counter; aligned 64-bit loads do not tear. */
		const struct dp_port_stats *s = &dp->workers[i].stats[pidx];

		ret->rx_packets += __atomic_load_n(&s->rx_packets, __ATOMIC_RELAXED);
		ret->rx_bytes += __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
		ret->tx_packets += __atomic_load_n(&s->tx_packets, __ATOMIC_RELAXED);
		ret->tx_bytes += __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
		ret->forwarded += __atomic_load_n(&s->forwarded, __ATOMIC_RELAXED);
		ret->punted += __atomic_load_n(&s->punted, __ATOMIC_RELAXED);
		ret->dropped += __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
		ret->from_kernel += __atomic_load_n(&s->from_kernel, __ATOMIC_RELAXED);
		for (r = 0; r < DP_PUNT_MAX; r++)
			ret->punt[r] += __atomic_load_n(&s->punt[r], __ATOMIC_RELAXED);
		for (r = 0; r < DP_DROP_MAX; r++)
			ret->drop[r] += __atomic_load_n(&s->drop[r], __ATOMIC_RELAXED);
	}
}
