// Linux interfaces that Swift's Glibc module does not export.
// Kept to declarations and one-line wrappers; all logic lives in Swift.
#ifndef CLINUX_H
#define CLINUX_H

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <termios.h>
#include <poll.h>
#include <stddef.h>

// Swift imports these as enum cases or not at all; plain ints are simpler to combine.
static const int CLINUX_SOCK_STREAM = SOCK_STREAM;
static const int CLINUX_SOCK_NONBLOCK = SOCK_NONBLOCK;
static const int CLINUX_SOCK_CLOEXEC = SOCK_CLOEXEC;
static const unsigned int CLINUX_EPOLLIN = EPOLLIN;
static const unsigned int CLINUX_EPOLLOUT = EPOLLOUT;
static const unsigned int CLINUX_EPOLLERR = EPOLLERR;
static const unsigned int CLINUX_EPOLLHUP = EPOLLHUP;
static const unsigned int CLINUX_EPOLLRDHUP = EPOLLRDHUP;
static const int CLINUX_EPOLL_CLOEXEC = EPOLL_CLOEXEC;
static const int CLINUX_SFD_NONBLOCK = SFD_NONBLOCK;
static const int CLINUX_SFD_CLOEXEC = SFD_CLOEXEC;
static const int CLINUX_IOV_MAX = 1024;

int clinux_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
int clinux_epoll_create(void);
int clinux_epoll_ctl(int epfd, int op, int fd, unsigned int events, unsigned long long data);
// Returns the number of events; fills parallel arrays so Swift never touches the packed struct.
int clinux_epoll_wait(int epfd, unsigned int *events, unsigned long long *data, int capacity, int timeout_ms);
int clinux_signalfd_for(const int *signals, int count);
int clinux_block_signals(const int *signals, int count);
int clinux_unblock_signals(const int *signals, int count);
// Returns the signal number read, 0 when none is pending, -1 on error.
int clinux_signalfd_read(int fd);


// SO_PEERCRED (struct ucred needs _GNU_SOURCE, which Swift's Glibc import lacks).
int clinux_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid);


// Handing connections to a successor process: a sealed memory file for the state, and
// close-on-exec switched per descriptor.
int clinux_memfd(const char *name);
int clinux_seal(int fd);
int clinux_set_cloexec(int fd, int on);
/// Reads and drops what `fd` has waiting, up to 1 MiB, without blocking.
void clinux_discard_input(int fd);

#endif
