/* SPDX-License-Identifier: BSD-3-Clause */
/* IPFIX (RFC 7011) messages of usage records: template and data sets. Pure. */
#include <errno.h>
#include <string.h>

#include "bss/billing/ipfix.h"

/* Standard IEs of the template (IANA IPFIX registry), then the enterprise one. */
static const struct {
	uint16_t id, len;
} fields[] = {
	{1, 8}, {2, 8}, {152, 8}, {153, 8}, {61, 1}, {27, 16}, {148, 8},
};

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	p = put32(p, (uint32_t)(v >> 32));
	return put32(p, (uint32_t)v);
}

/* RFC 7011 §3.4.1: set header, template record header, field specifiers. */
static uint8_t *
put_template(uint8_t *p)
{
	size_t n = sizeof(fields) / sizeof(fields[0]);

	p = put16(p, 2); /* Template Set */
	p = put16(p, (uint16_t)(4 + 4 + 4 * n + 8));
	p = put16(p, IPFIX_TEMPLATE_ID);
	p = put16(p, (uint16_t)(n + 1));
	for (size_t i = 0; i < n; i++) {
		p = put16(p, fields[i].id);
		p = put16(p, fields[i].len);
	}
	/* §3.2: the enterprise bit, then the Enterprise Number. */
	p = put16(p, 0x8000 | IPFIX_IE_SERVICE_ID);
	p = put16(p, 16);
	return put32(p, IPFIX_PEN);
}

size_t
ipfix_records_max(size_t mtu)
{
	return mtu > IPFIX_OVERHEAD + IPFIX_RECORD_LEN ? (mtu - IPFIX_OVERHEAD) / IPFIX_RECORD_LEN
						       : 1;
}

int
ipfix_encode(uint8_t *buf, size_t cap, uint32_t export_s, uint32_t seq, uint32_t domain,
	     const struct ipfix_record *r, size_t n)
{
	size_t len = IPFIX_OVERHEAD + n * IPFIX_RECORD_LEN;
	uint8_t *p = buf;

	if (n == 0)
		return -EINVAL;
	if (len > cap || len > 65535)
		return -ENOSPC;
	/* §3.1 message header */
	p = put16(p, IPFIX_VERSION);
	p = put16(p, (uint16_t)len);
	p = put32(p, export_s);
	p = put32(p, seq);
	p = put32(p, domain);
	p = put_template(p);
	p = put16(p, IPFIX_TEMPLATE_ID); /* Data Set of template 256 */
	p = put16(p, (uint16_t)(4 + n * IPFIX_RECORD_LEN));
	for (size_t i = 0; i < n; i++) {
		p = put64(p, r[i].octets);
		p = put64(p, r[i].packets);
		p = put64(p, r[i].start_ms);
		p = put64(p, r[i].end_ms);
		*p++ = r[i].direction;
		memcpy(p, r[i].service, 16);
		p += 16;
		p = put64(p, r[i].usage_id);
		memcpy(p, r[i].service, 16);
		p += 16;
	}
	return (int)(p - buf);
}

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ipfix_uuid_bytes(const char *uuid, uint8_t ret[16])
{
	size_t k = 0;

	if (strlen(uuid) != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (uuid[i++] != '-')
				return -EINVAL;
			continue;
		}
		int hi = hex(uuid[i]), lo = hex(uuid[i + 1]);

		if (hi < 0 || lo < 0 || k >= 16)
			return -EINVAL;
		ret[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return k == 16 ? 0 : -EINVAL;
}
