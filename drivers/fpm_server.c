/* SPDX-License-Identifier: BSD-3-Clause */
#include "drivers/fpm_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One maximum frame fits; a read never asks for more than the room left. */
#define FPM_RBUF (FPM_MAX_FRAME + 1u)
/* Reads per dispatch: keeps the control thread responsive during a RIB dump. */
#define FPM_READS_PER_DISPATCH 16

struct fpm_server {
	int lfd;
	int cfd; /* -1: nobody connected */
	const struct fpm_server_ops *ops;
	void *arg;
	size_t rlen;
	uint8_t rbuf[FPM_RBUF];
	struct fpm_msg msgs[FPM_MAX_MSGS];
};

static void
peer_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, len, "%s port %u", a, port);
}

int
fpm_server_open(const struct inet_addr *addr, uint16_t port, const struct fpm_server_ops *ops,
		void *arg, struct fpm_server **ret_srv)
{
	struct sockaddr_storage ss;
	struct fpm_server *srv;
	socklen_t sl;
	int one = 1, ret;

	memset(&ss, 0, sizeof(ss));
	if (addr->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr = addr->v4;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	} else if (addr->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = addr->v6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	} else {
		return -EAFNOSUPPORT;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->cfd = -1;
	srv->ops = ops;
	srv->arg = arg;
	srv->lfd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0)
		goto out_errno;
	if (setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(srv->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(srv->lfd, 4) < 0)
		goto out_errno;
	*ret_srv = srv;
	return 0;

out_errno:
	ret = -errno;
	fpm_server_close(srv);
	return ret;
}

static void
drop_conn(struct fpm_server *srv, const char *why)
{
	if (srv->cfd < 0)
		return;
	close(srv->cfd);
	srv->cfd = -1;
	srv->rlen = 0;
	if (why != NULL)
		srv->ops->closed(srv->arg, why);
}

struct fpm_server *
fpm_server_close(struct fpm_server *srv)
{
	if (srv == NULL)
		return NULL;
	drop_conn(srv, NULL);
	if (srv->lfd >= 0)
		close(srv->lfd);
	free(srv);
	return NULL;
}

unsigned
fpm_server_pollfds(const struct fpm_server *srv, struct pollfd *pfd)
{
	unsigned n = 0;

	pfd[n++] = (struct pollfd){.fd = srv->lfd, .events = POLLIN};
	if (srv->cfd >= 0)
		pfd[n++] = (struct pollfd){.fd = srv->cfd, .events = POLLIN};
	return n;
}

bool
fpm_server_connected(const struct fpm_server *srv)
{
	return srv->cfd >= 0;
}

static void
do_accept(struct fpm_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char peer[INET6_ADDRSTRLEN + 16];
	int fd;

	fd = accept4(srv->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN, or the peer gave up already */
	peer_name(&ss, peer, sizeof(peer));
	if (srv->cfd >= 0) {
		close(fd);
		srv->ops->refused(srv->arg, peer);
		return;
	}
	srv->cfd = fd;
	srv->rlen = 0;
	srv->ops->connected(srv->arg, peer);
}

/* Decode and hand over every complete frame in the buffer. Returns 0 or -EBADMSG (@why set). */
static int
consume(struct fpm_server *srv, char *why, size_t whylen)
{
	size_t off = 0;
	int n, i, ret;

	for (;;) {
		size_t flen;

		ret = fpm_frame_len(srv->rbuf + off, srv->rlen - off, &flen, why, whylen);
		if (ret == -EAGAIN)
			break;
		if (ret < 0)
			return ret;
		if (flen > srv->rlen - off)
			break;
		n = fpm_decode(srv->rbuf + off, flen, srv->msgs, FPM_MAX_MSGS, why, whylen);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++)
			srv->ops->message(srv->arg, &srv->msgs[i]);
		off += flen;
	}
	memmove(srv->rbuf, srv->rbuf + off, srv->rlen - off);
	srv->rlen -= off;
	return 0;
}

static void
do_read(struct fpm_server *srv)
{
	char why[256];
	int i;

	for (i = 0; i < FPM_READS_PER_DISPATCH && srv->cfd >= 0; i++) {
		ssize_t n = read(srv->cfd, srv->rbuf + srv->rlen, sizeof(srv->rbuf) - srv->rlen);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			drop_conn(srv, why);
			return;
		}
		if (n == 0) {
			drop_conn(srv, srv->rlen != 0 ? "peer closed the connection inside a frame"
						      : "peer closed the connection");
			return;
		}
		srv->rlen += (size_t)n;
		if (consume(srv, why, sizeof(why)) < 0) {
			char msg[300];

			snprintf(msg, sizeof(msg), "bad frame: %s", why);
			drop_conn(srv, msg);
			return;
		}
	}
}

void
fpm_server_dispatch(struct fpm_server *srv)
{
	/* Read first: a peer that closed and connected again is not turned away. */
	if (srv->cfd >= 0)
		do_read(srv);
	do_accept(srv);
}
