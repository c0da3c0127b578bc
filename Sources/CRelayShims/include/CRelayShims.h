#ifndef RELAY_SHIMS_H
#define RELAY_SHIMS_H

#include <sys/types.h>

/// The uid of the process at the other end of a Unix socket (SO_PEERCRED).
/// Returns 0 and sets *uid, or -1 with errno set.
int CRelayShims_peer_uid(int fd, uid_t *uid);

/// pipe2(fds, O_NONBLOCK | O_CLOEXEC): pipe2 needs _GNU_SOURCE, which must not leak into
/// headers that Swift modules share (it changes the layout names of fd_set).
int CRelayShims_pipe_nonblocking(int fds[2]);

/// Sends `state` (e.g. "READY=1") to systemd's $NOTIFY_SOCKET, if set (sd_notify(3) protocol:
/// one datagram on a Unix socket; a leading '@' names an abstract socket).
/// Returns 1 if sent, 0 if NOTIFY_SOCKET is unset, -1 on error.
int CRelayShims_sd_notify(const char *state);

/// Checks `password` against a crypt(3) hash (yescrypt, sha512-crypt, …) with the system's
/// libcrypt, comparing in constant time. Returns 1 on a match, 0 otherwise.
int CRelayShims_crypt_matches(const char *password, const char *hash);

/// Ends this process with SIGTERM when the process `parent` exits (a supervisor killed with
/// SIGKILL must not leave its roles holding the ports). A thread waits on a pidfd of the parent
/// (Linux 5.3+), else checks getppid() every second. PR_SET_PDEATHSIG is not used: it fires
/// when the parent's *thread* that started the child exits, and the supervisor starts children
/// from dispatch threads that come and go.
/// Returns 0, or -1 when `parent` is no longer this process's parent (it died already).
int CRelayShims_exit_with_parent(pid_t parent);

#endif
