#ifndef RELAY_CARES_SHIMS_H
#define RELAY_CARES_SHIMS_H

#include <string.h>
#include <poll.h>
#include <ares.h>

// ARES_GETSOCK_READABLE / WRITABLE are macros Swift cannot import.
static inline int CAresShims_getsock_readable(int bits, int index) { return ARES_GETSOCK_READABLE(bits, index); }
static inline int CAresShims_getsock_writable(int bits, int index) { return ARES_GETSOCK_WRITABLE(bits, index); }

// ARES_SOCKET_BAD is a macro too.
static inline ares_socket_t CAresShims_socket_bad(void) { return ARES_SOCKET_BAD; }

// Options through the struct, set here so Swift need not mirror the optmask macros.
static inline int CAresShims_init(ares_channel *channel, int timeout_ms, int tries) {
    struct ares_options options;
    memset(&options, 0, sizeof(options));
    options.timeout = timeout_ms;
    options.tries = tries;
    options.flags = ARES_FLAG_EDNS;
    options.ednspsz = 1232;
    return ares_init_options(channel, &options,
                             ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ);
}

#endif
