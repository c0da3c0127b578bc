#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#include <crypt.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include "CRelayShims.h"

int CRelayShims_peer_uid(int fd, uid_t *uid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *uid = credentials.uid;
    return 0;
}

int CRelayShims_pipe_nonblocking(int fds[2]) {
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

int CRelayShims_sd_notify(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0') return 0;
    struct sockaddr_un address;
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length >= sizeof(address.sun_path)) return -1;
    memcpy(address.sun_path, path, length);
    if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    ssize_t sent = sendto(fd, state, strlen(state), 0, (struct sockaddr *)&address,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length));
    close(fd);
    return sent < 0 ? -1 : 1;
}

int CRelayShims_crypt_matches(const char *password, const char *hash) {
    struct crypt_data data;
    memset(&data, 0, sizeof(data));
    const char *result = crypt_r(password, hash, &data);
    if (result == NULL || result[0] == '*') return 0;
    size_t length = strlen(hash);
    if (strlen(result) != length) return 0;
    unsigned char difference = 0;
    for (size_t i = 0; i < length; i++) difference |= (unsigned char)(result[i] ^ hash[i]);
    return difference == 0;
}

static void *watch_parent(void *argument) {
    pid_t parent = (pid_t)(intptr_t)argument;
    int fd = -1;
#ifdef SYS_pidfd_open
    fd = (int)syscall(SYS_pidfd_open, parent, 0);
#endif
    if (fd >= 0) {
        // Readable once the process has exited; a check of getppid() closes the race with an
        // exit between the caller's check and pidfd_open.
        struct pollfd watched = {.fd = fd, .events = POLLIN};
        while (getppid() == parent && poll(&watched, 1, -1) < 0 && errno == EINTR) {
        }
        close(fd);
    } else {
        while (getppid() == parent) sleep(1);
    }
    kill(getpid(), SIGTERM);
    return NULL;
}

int CRelayShims_exit_with_parent(pid_t parent) {
    if (getppid() != parent) return -1;
    pthread_attr_t attributes;
    pthread_t thread;
    if (pthread_attr_init(&attributes) != 0) return -1;
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attributes, watch_parent, (void *)(intptr_t)parent);
    pthread_attr_destroy(&attributes);
    return failed ? -1 : 0;
}
