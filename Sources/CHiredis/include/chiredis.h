#ifndef CHIREDIS_H
#define CHIREDIS_H
// hiredis's asynchronous API, for the daemon's reactor (libhiredis-dev 0.14).
// Only what Swift cannot do itself: fill the adapter's hook table and read the
// output buffer's length.
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <stddef.h>

typedef void (*chiredis_hook)(void *data);

/// Installs the event hooks: hiredis calls them when it wants the socket read or written
/// (idempotent), and `cleanup` when the context is about to be freed.
void chiredis_attach(redisAsyncContext *ac, void *data, chiredis_hook add_read, chiredis_hook del_read,
                     chiredis_hook add_write, chiredis_hook del_write, chiredis_hook cleanup);

/// Bytes waiting in hiredis's output buffer (commands not yet written to the socket).
size_t chiredis_pending_output(const redisAsyncContext *ac);

/// Bytes waiting to be read on a socket (FIONREAD), 0 on error.
int chiredis_pending_input(int fd);

/// The context's socket, or -1.
int chiredis_fd(const redisAsyncContext *ac);
#endif
