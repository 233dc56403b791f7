/* SPDX-License-Identifier: BSD-3-Clause */
/* The domain's files in the state directory: its keys and the audit chain's anchor. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bss/security/model.h"

static int
path_of(char *buf, size_t len, const char *dir, const char *name, struct security_error *err)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				     "state_dir: path of %s too long", name);
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A new key, written beside and hard-linked into place: link() fails with
 * EEXIST when another process got there first, and no reader ever sees a
 * partly written key.
 */
static int
key_create(const char *path, struct security_error *err)
{
	char tmp[PATH_MAX];
	uint8_t key[SECURITY_KEY_LEN];
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				     "state_dir: path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return security_fail(err, -EIO, "internal", "state_dir", "%s: cannot create: %s",
				     tmp, strerror(errno));
	randombytes_buf(key, sizeof(key));
	r = write_all(fd, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	if (r == 0 && fsync(fd) < 0)
		r = -EIO;
	close(fd);
	if (r == 0 && link(tmp, path) < 0 && errno != EEXIST)
		r = -EIO;
	unlink(tmp);
	if (r)
		return security_fail(err, -EIO, "internal", "state_dir", "%s: cannot write: %s",
				     path, strerror(errno));
	return 0;
}

int
security_key_load(const char *dir, const char *name, uint8_t ret[SECURITY_KEY_LEN],
		  struct security_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd, r;

	if (sodium_init() < 0)
		return security_fail(err, -EIO, "internal", "", "libsodium failed to start");
	r = path_of(path, sizeof(path), dir, name, err);
	if (r)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		r = key_create(path, err);
		if (r)
			return r;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return security_fail(err, -EIO, "internal", "state_dir", "%s: cannot open: %s",
				     path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != SECURITY_KEY_LEN) {
		r = security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				  "%s: must be a file of exactly %d bytes", path, SECURITY_KEY_LEN);
		goto out_close;
	}
	if (st.st_mode & 077 || st.st_uid != geteuid()) {
		r = security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				  "%s: must be ours with mode 0600, is mode %04o owner %u", path,
				  (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		goto out_close;
	}
	n = read(fd, ret, SECURITY_KEY_LEN);
	r = n == SECURITY_KEY_LEN ? 0
				  : security_fail(err, -EIO, "internal", "state_dir",
						  "%s: short read", path);
out_close:
	close(fd);
	return r;
}

/* ---- The anchor ------------------------------------------------------------- */

#define ANCHOR_FILE "audit.head"
#define ANCHOR_FMT "cuco-audit-anchor v1 %" PRId64 " %s\n"

int
security_anchor_read(const char *dir, int64_t *ret_seq, uint8_t ret_hash[SECURITY_HASH_LEN],
		     struct security_error *err)
{
	char path[PATH_MAX], buf[160], hex[2 * SECURITY_HASH_LEN + 2], check[160];
	int64_t seq;
	ssize_t n;
	int fd, r;

	r = path_of(path, sizeof(path), dir, ANCHOR_FILE, err);
	if (r)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		*ret_seq = 0;
		memset(ret_hash, 0, SECURITY_HASH_LEN);
		return 0;
	}
	if (fd < 0)
		return security_fail(err, -EIO, "internal", "state_dir", "%s: cannot open: %s",
				     path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				     "%s: empty or unreadable", path);
	buf[n] = '\0';
	/* Exactly the form we write, nothing else: re-print and compare. */
	if (sscanf(buf, "cuco-audit-anchor v1 %" SCNd64 " %65s", &seq, hex) != 2 || seq < 1 ||
	    security_unhex(ret_hash, SECURITY_HASH_LEN, hex) < 0 ||
	    snprintf(check, sizeof(check), ANCHOR_FMT, seq, hex) < 0 || strcmp(check, buf) != 0)
		return security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				     "%s: not an audit anchor", path);
	*ret_seq = seq;
	return 0;
}

int
security_anchor_advance(const char *dir, int64_t seq, const uint8_t hash[SECURITY_HASH_LEN],
			struct security_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX], lock[PATH_MAX], line[160];
	char hex[2 * SECURITY_HASH_LEN + 1];
	uint8_t cur_hash[SECURITY_HASH_LEN];
	int64_t cur = 0;
	int lfd, fd, r, dfd;

	r = path_of(path, sizeof(path), dir, ANCHOR_FILE, err);
	r = r ?: path_of(tmp, sizeof(tmp), dir, ANCHOR_FILE ".new", err);
	r = r ?: path_of(lock, sizeof(lock), dir, ANCHOR_FILE ".lock", err);
	if (r)
		return r;
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		r = security_fail(err, -EIO, "internal", "state_dir", "%s: cannot lock: %s", lock,
				  strerror(errno));
		goto out_close_lock;
	}
	/* An unreadable anchor is replaced: verification has already said so. */
	if (security_anchor_read(dir, &cur, cur_hash, NULL) == 0 && cur >= seq)
		goto out_close_lock;
	security_hex(hex, hash, SECURITY_HASH_LEN);
	snprintf(line, sizeof(line), ANCHOR_FMT, seq, hex);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = security_fail(err, -EIO, "internal", "state_dir", "%s: cannot create: %s",
				  tmp, strerror(errno));
		goto out_close_lock;
	}
	r = write_all(fd, line, strlen(line));
	if (r == 0 && fsync(fd) < 0)
		r = -EIO;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -EIO;
	if (r) {
		r = security_fail(err, -EIO, "internal", "state_dir", "%s: cannot write: %s",
				  path, strerror(errno));
		goto out_close_lock;
	}
	/* The rename is durable once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out_close_lock:
	if (lfd >= 0)
		close(lfd);
	return r;
}
