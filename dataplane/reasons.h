/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_REASONS_H
#define CUCO_DATAPLANE_REASONS_H

/*
 * Why a packet was dropped, or sent to the kernel (punted). The names are
 * the telemetry keys; keep them stable, add at the end of a group.
 */

#define DP_DROP_REASONS(X)                 \
	X(ETH_TRUNCATED, "eth_truncated")   \
	X(VLAN_TRUNCATED, "vlan_truncated") \
	X(VLAN_TOO_DEEP, "vlan_too_deep")   \
	X(NOT_FOR_US, "not_for_us")         \
	X(UNSUPPORTED_ETHERTYPE, "unsupported_ethertype") \
	X(ARP_TRUNCATED, "arp_truncated")   \
	X(IP4_TRUNCATED, "ip4_truncated")   \
	X(IP4_BAD_VERSION, "ip4_bad_version") \
	X(IP4_BAD_IHL, "ip4_bad_ihl")       \
	X(IP4_BAD_LENGTH, "ip4_bad_length") \
	X(IP4_BAD_CHECKSUM, "ip4_bad_checksum") \
	X(IP4_MARTIAN, "ip4_martian")       \
	X(IP6_TRUNCATED, "ip6_truncated")   \
	X(IP6_BAD_VERSION, "ip6_bad_version") \
	X(IP6_BAD_LENGTH, "ip6_bad_length") \
	X(IP6_EXT_TRUNCATED, "ip6_ext_truncated") \
	X(IP6_EXT_TOO_MANY, "ip6_ext_too_many") \
	X(IP6_MARTIAN, "ip6_martian")       \
	X(NO_ROUTE, "no_route")             \
	X(TX_FULL, "tx_full")               \
	X(PUNT_RATELIMIT, "punt_ratelimit") \
	X(PUNT_FULL, "punt_full")           \
	X(SUB_SUSPENDED, "sub_suspended")   \
	X(SUB_WALLED_GARDEN, "sub_walled_garden") \
	X(SUB_METER, "sub_meter")           \
	X(SUB_UNKNOWN, "sub_unknown")       \
	X(SUB_SHAPER, "sub_shaper")         \
	X(NO_HEADROOM, "no_headroom")

#define DP_PUNT_REASONS(X)          \
	X(ARP, "arp")                \
	X(LOCAL, "local")            \
	X(MULTICAST, "multicast")    \
	X(UNRESOLVED, "unresolved")  \
	X(TTL_EXPIRED, "ttl_expired")

#define DP_REASON_ENUM(e, s) DP_DROP_##e,
enum dp_drop_reason {
	DP_DROP_NONE = 0,
	DP_DROP_REASONS(DP_REASON_ENUM)
	DP_DROP_MAX
};
#undef DP_REASON_ENUM

#define DP_REASON_ENUM(e, s) DP_PUNT_##e,
enum dp_punt_reason {
	DP_PUNT_REASONS(DP_REASON_ENUM)
	DP_PUNT_MAX
};
#undef DP_REASON_ENUM

/* Telemetry names; index by the enums. */
extern const char *const dp_drop_names[DP_DROP_MAX];
extern const char *const dp_punt_names[DP_PUNT_MAX];

#endif
