#include "jsonsock.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

static int sockaddr_fill(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	return strlcpy_checked(sa->sun_path, path, sizeof(sa->sun_path));
}

static int socket_set_group(const char *path, const char *group, char *err,
			    size_t errlen)
{
	struct group *gr;

	if (!group || !*group)
		return 0;
	gr = getgrnam(group);
	if (!gr) {
		/* A missing group must not stop enforcement: root still works. */
		snprintf(err, errlen, "group '%s' does not exist", group);
		return 1;
	}
	if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
		/* Without CAP_CHOWN a process may give its file to its own groups only. */
		snprintf(err, errlen, "cannot give %s to group '%s': %s%s", path, group,
			 strerror(errno), errno == EPERM ? " (this process is not a member of it: "
			 "add it to the unit's SupplementaryGroups=)" : "");
		return 1;
	}
	return 0;
}

int jsonsock_listen(const char *path, unsigned mode, const char *group,
		    char *err, size_t errlen)
{
	struct sockaddr_un sa;
	char dir[4096];
	int fd;

	if (sockaddr_fill(&sa, path) < 0) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	if (path_dirname(path, dir, sizeof(dir)) == 0)
		mkdir_parents(dir, 0755);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, mode) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (socket_set_group(path, group, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int wait_ready(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int rc;

	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc;
}

json_t *jsonsock_read(int fd, int timeout_ms, char *err, size_t errlen)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	json_t *msg = NULL;
	json_error_t jerr;

	if (!buf)
		return NULL;
	for (;;) {
		if (wait_ready(fd, POLLIN, timeout_ms) <= 0) {
			snprintf(err, errlen, "timed out waiting for a reply");
			goto out;
		}
		if (len + 1 >= cap) {
			if (cap >= JSONSOCK_MAX) {
				snprintf(err, errlen, "message too large");
				goto out;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				goto out;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(err, errlen, n == 0 ? "connection closed" : "read: %s",
				 strerror(errno));
			goto out;
		}
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			break;
	}
	buf[len] = '\0';
	msg = json_loads(buf, 0, &jerr);
	if (!msg)
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
out:
	free(buf);
	return msg;
}

char *jsonsock_encode(const json_t *msg, size_t *len)
{
	char *text = json_dumps(msg, JSON_COMPACT);

	if (!text)
		return NULL;
	*len = strlen(text);
	text[(*len)++] = '\n'; /* replaces the NUL: the length is what counts */
	return text;
}

int jsonsock_write(int fd, const json_t *msg)
{
	size_t len, off = 0;
	char *text = jsonsock_encode(msg, &len);
	int rc = 0;

	if (!text)
		return -1;
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (wait_ready(fd, POLLOUT, 2000) <= 0) {
				rc = -1;
				break;
			}
			continue;
		}
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	free(text);
	return rc;
}

json_t *jsonsock_call(const char *path, const json_t *req, int timeout_ms,
		      int *unreachable, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	json_t *reply;
	int fd;

	*unreachable = 0;
	if (sockaddr_fill(&sa, path) < 0) {
		snprintf(err, errlen, "socket path too long: %s", path);
		*unreachable = ENAMETOOLONG;
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		*unreachable = errno ? errno : EIO;
		snprintf(err, errlen, "cannot connect to %s: %s", path,
			 strerror(*unreachable));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (jsonsock_write(fd, req) < 0) {
		snprintf(err, errlen, "cannot send request to %s: %s", path,
			 strerror(errno));
		close(fd);
		return NULL;
	}
	reply = jsonsock_read(fd, timeout_ms, err, errlen);
	close(fd);
	return reply;
}

int jsonsock_peer_uid(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	*uid = cred.uid;
	return 0;
}
