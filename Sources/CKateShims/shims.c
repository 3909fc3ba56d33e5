#ifndef _GNU_SOURCE
#error "CKateShims must be compiled with _GNU_SOURCE (Package.swift cSettings)"
#endif
#include "CKateShims.h"
#include <sys/epoll.h>
#include <fcntl.h>
#include <unistd.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

int ckate_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
    return accept4(fd, addr, addrlen, flags);
}

int ckate_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int ckate_epoll_add(int epfd, int fd, uint64_t token) {
    struct epoll_event ev;
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int ckate_epoll_del(int epfd, int fd) {
    struct epoll_event ev = {0};  // non-NULL for kernels before 2.6.9
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

int ckate_epoll_wait(int epfd, uint64_t *tokens, uint32_t *readiness, int max, int timeout_ms) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t e = events[i].events;
        uint32_t r = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) r |= CKATE_READABLE;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) r |= CKATE_WRITABLE;
        tokens[i] = events[i].data.u64;
        readiness[i] = r;
    }
    return n;
}

int ckate_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

EVP_PKEY *ckate_generate_ec_p256(void) {
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    if (ctx == NULL) return NULL;
    if (EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) <= 0 ||
        EVP_PKEY_keygen(ctx, &key) <= 0) {
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

EVP_PKEY *ckate_generate_rsa(int bits) {
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
    if (ctx == NULL) return NULL;
    if (EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0 ||
        EVP_PKEY_keygen(ctx, &key) <= 0) {
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

int ckate_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int ckate_spawn_actions_close_from(void *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, from);
}
