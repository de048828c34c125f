#ifndef UNFOLD_CEPOLL_SHIM_H
#define UNFOLD_CEPOLL_SHIM_H
// Linux calls of the HTTP server that Swift's Glibc module does not expose (part of libc;
// no package needed): epoll and eventfd for the epoll event queue, accept4 for sockets.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

// A GNU extension, declared by <sys/socket.h> only under _GNU_SOURCE.
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
#endif
