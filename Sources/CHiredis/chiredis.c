#include "chiredis.h"
#include <hiredis/sds.h>
#include <sys/ioctl.h>

void chiredis_attach(redisAsyncContext *ac, void *data, chiredis_hook add_read, chiredis_hook del_read,
                     chiredis_hook add_write, chiredis_hook del_write, chiredis_hook cleanup) {
    ac->ev.data = data;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
}

size_t chiredis_pending_output(const redisAsyncContext *ac) {
    return ac->c.obuf ? sdslen(ac->c.obuf) : 0;
}

int chiredis_pending_input(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) == 0 ? count : 0;
}

int chiredis_fd(const redisAsyncContext *ac) { return ac->c.fd; }
