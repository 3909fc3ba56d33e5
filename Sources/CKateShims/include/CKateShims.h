#ifndef KATE_C_SHIMS_H
#define KATE_C_SHIMS_H
#include <openssl/ssl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <sys/socket.h>

// OpenSSL 3 function-like macros that Swift's ClangImporter drops, wrapped once here.
static inline long ckate_SSL_set_tlsext_host_name(SSL *s, const char *name) { return SSL_set_tlsext_host_name(s, name); }
static inline long ckate_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_min_proto_version(ctx, v); }
static inline long ckate_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_max_proto_version(ctx, v); }
static inline long ckate_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline void ckate_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline uint64_t ckate_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t ckate_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t ckate_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline uint64_t ckate_SSL_OP_IGNORE_UNEXPECTED_EOF(void) { return SSL_OP_IGNORE_UNEXPECTED_EOF; }
static inline unsigned long ckate_XN_FLAG_RFC2253(void) { return XN_FLAG_RFC2253; }
static inline int ckate_MBSTRING_ASC(void) { return MBSTRING_ASC; }
static inline long ckate_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *x509) { return SSL_CTX_add1_chain_cert(ctx, x509); }
static inline long ckate_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) { return SSL_CTX_set1_groups_list(ctx, list); }
static inline long ckate_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline const char *ckate_SSL_get_cipher(const SSL *s) { return SSL_get_cipher(s); }
static inline long ckate_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }

/// A fresh key pair, or NULL (the OpenSSL error queue says why). The EVP_EC_gen/EVP_RSA_gen macros
/// expand to a variadic call Swift cannot make.
EVP_PKEY *ckate_generate_ec_p256(void);
EVP_PKEY *ckate_generate_rsa(int bits);

// ---- Linux I/O shims (out of line in shims.c, which is compiled with _GNU_SOURCE) ----

/// accept4(2): glibc declares it only under _GNU_SOURCE, which Swift's Glibc import does not set.
int ckate_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);

/// pipe2(2) with O_CLOEXEC (also _GNU_SOURCE only): a pipe no concurrently spawned child can inherit.
int ckate_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addclosefrom_np(3) (glibc 2.34, _GNU_SOURCE only): the child closes every descriptor
/// from `from` up, including those other code opened without close-on-exec. `actions` is a posix_spawn_file_actions_t *.
int ckate_spawn_actions_close_from(void *actions, int from);

/// Readiness bits reported by ckate_epoll_wait, so Swift never sees the packed struct epoll_event.
#define CKATE_READABLE 1u
#define CKATE_WRITABLE 2u

/// epoll_create1(EPOLL_CLOEXEC).
int ckate_epoll_create(void);
/// Adds fd edge-triggered for input, output and peer hang-up; `token` comes back from ckate_epoll_wait.
int ckate_epoll_add(int epfd, int fd, uint64_t token);
/// Removes fd from the epoll set.
int ckate_epoll_del(int epfd, int fd);
/// Waits up to timeout_ms (-1 = forever) for at most `max` events (max <= 256); fills tokens[i] and
/// readiness[i] (CKATE_READABLE | CKATE_WRITABLE; errors and hang-ups count as both). Returns the count or -1.
int ckate_epoll_wait(int epfd, uint64_t *tokens, uint32_t *readiness, int max, int timeout_ms);
/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC).
int ckate_eventfd(void);

#endif
