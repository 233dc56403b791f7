/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/zcurve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

int
zcurve_read_key(const char *path, char key[ZCURVE_KEY_LEN], char *err, size_t errlen)
{
	char buf[128];
	uint8_t bin[32];
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n != ZCURVE_KEY_LEN - 1 || zmq_z85_decode(bin, buf) == NULL) {
		snprintf(err, errlen, "%s: not a 40-character Z85 CURVE key", path);
		return -EINVAL;
	}
	memcpy(key, buf, ZCURVE_KEY_LEN);
	return 0;
}

static int
write_key(const char *path, const char *key, mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = write(fd, key, strlen(key));
	if (n >= 0)
		n = write(fd, "\n", 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

int
zcurve_keypair(const char *dir, const char *name, char pub[ZCURVE_KEY_LEN],
	       char sec[ZCURVE_KEY_LEN], char *err, size_t errlen)
{
	char ppath[512], spath[512];
	int ret;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	snprintf(ppath, sizeof(ppath), "%s/%s.public", dir, name);
	snprintf(spath, sizeof(spath), "%s/%s.secret", dir, name);
	if (access(spath, F_OK) != 0) {
		if (zmq_curve_keypair(pub, sec) != 0) {
			snprintf(err, errlen, "ZeroMQ cannot make CURVE keys (built without them?)");
			return -ENOTSUP;
		}
		ret = write_key(spath, sec, 0600, err, errlen);
		if (ret == 0)
			ret = write_key(ppath, pub, 0644, err, errlen);
		if (ret < 0)
			return ret;
	}
	ret = zcurve_read_key(spath, sec, err, errlen);
	if (ret == 0)
		ret = zcurve_read_key(ppath, pub, err, errlen);
	return ret;
}

bool
zcurve_authorized(const char *dir, const uint8_t client[32])
{
	char path[512], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/authorized_keys", dir);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		uint8_t bin[32];
		size_t n = strcspn(line, " \t\r\n#");

		if (n != ZCURVE_KEY_LEN - 1)
			continue;
		line[n] = '\0';
		if (zmq_z85_decode(bin, line) != NULL && memcmp(bin, client, 32) == 0)
			found = true;
	}
	fclose(f);
	return found;
}
