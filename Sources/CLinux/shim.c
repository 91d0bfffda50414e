#ifndef _GNU_SOURCE
#error "CLinux must be built with _GNU_SOURCE (see Package.swift)"
#endif
#include <sys/mman.h>
#include <fcntl.h>
#include "CLinux.h"
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

int clinux_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

int clinux_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int clinux_epoll_ctl(int epfd, int op, int fd, unsigned int events, unsigned long long data) {
    struct epoll_event event = { .events = events, .data = { .u64 = data } };
    return epoll_ctl(epfd, op, fd, &event);
}

int clinux_epoll_wait(int epfd, unsigned int *events, unsigned long long *data, int capacity, int timeout_ms) {
    // The kernel's struct is packed on x86_64 and not elsewhere; copying out here keeps Swift layout-agnostic.
    struct epoll_event buffer[256];
    if (capacity > 256) capacity = 256;
    int n = epoll_wait(epfd, buffer, capacity, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = buffer[i].events;
        data[i] = buffer[i].data.u64;
    }
    return n;
}

static void fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int clinux_block_signals(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    return sigprocmask(SIG_BLOCK, &set, NULL);
}

int clinux_unblock_signals(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    return sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int clinux_signalfd_for(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int clinux_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    for (;;) {
        ssize_t n = read(fd, &info, sizeof info);
        if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
}

int clinux_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}


int clinux_memfd(const char *name) {
    return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

int clinux_seal(int fd) {
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
}

int clinux_set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC));
}

void clinux_discard_input(int fd) {
    char buffer[16384];
    for (int i = 0; i < 64; i++) {
        if (recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) <= 0) return;
    }
}
