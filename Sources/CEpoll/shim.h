#ifndef UNFOLD_CEPOLL_SHIM_H
#define UNFOLD_CEPOLL_SHIM_H
// Linux readiness notification for the HTTP event loops (part of libc; no package needed).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
