/* SPDX-License-Identifier: BSD-3-Clause */
/* Problem details (RFC 9457) and the mapping of handler errors to them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controlplane/rest/rest_internal.h"

const char *
rest_status_title(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

json_t *
rest_problem_new(unsigned status, const char *code, const char *detail, const char *instance,
		 const char *trace_id)
{
	char type[128];

	/* RFC 9457 §3.1: type identifies the problem; ours is the stable code. */
	snprintf(type, sizeof(type), REST_PROBLEM_TYPE "%s", code);
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "type", type, "title",
			 rest_status_title(status), "status", (int)status, "detail",
			 detail ? detail : "", "instance", instance ? instance : "", "code", code,
			 "traceId", trace_id ? trace_id : "");
}

void
rest_errno_problem(int err, unsigned *ret_status, const char **ret_code)
{
	switch (err) {
	case -EINVAL:
		*ret_status = 400, *ret_code = "invalid-request";
		break;
	case -ENOENT:
		*ret_status = 404, *ret_code = "not-found";
		break;
	case -EEXIST:
	case -EBUSY:
		*ret_status = 409, *ret_code = "conflict";
		break;
	case -ESTALE:
		*ret_status = 412, *ret_code = "stale-version";
		break;
	case -EACCES:
	case -EPERM:
		*ret_status = 403, *ret_code = "forbidden";
		break;
	case -EAGAIN:
	case -ECONNREFUSED:
	case -ENOTCONN:
		*ret_status = 503, *ret_code = "unavailable";
		break;
	case -ETIMEDOUT:
		*ret_status = 504, *ret_code = "timeout";
		break;
	default:
		*ret_status = 500, *ret_code = "internal-error";
		break;
	}
}
