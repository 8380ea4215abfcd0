// Batched UDP for the cluster DNS server: one recvmmsg drains up to `slots` datagrams, one call
// into JavaScript answers them all, one sendmmsg sends the replies. Node's dgram makes one JS
// callback and one sendmsg per datagram, which costs more than the DNS work itself.
//
// JavaScript owns every buffer (allocated once, shared with this file):
//   in      slots × slotSize bytes   datagrams received, slot i at i × slotSize
//   inLens  Int32Array(slots)        their lengths
//   addrs   slots × 28 bytes         their senders (sockaddr_in or sockaddr_in6)
//   out     arena                    replies, anywhere in it
//   outOffs Int32Array(slots)        where reply i starts in `out`
//   outLens Int32Array(slots)        its length; 0: no reply to datagram i
// onBatch(count) fills outOffs/outLens before it returns; the replies go out right after.
//
// Linux only (recvmmsg/sendmmsg). When the kernel's send buffer is full (EAGAIN) the rest of a
// batch's replies are dropped and counted, as the kernel itself drops datagrams it has no room
// for: a DNS client over UDP retries, and queueing replies would only add latency under overload.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define ADDR_SIZE 28
#define MAX_SLOTS 1024

typedef struct {
  uv_poll_t poll;
  int fd;
  int family;
  int closed;
  int in_callback;  // inside onBatch: close() leaves the teardown to on_readable
  int uv_closed;  // the poll handle is closed: libuv no longer holds this struct
  int finalized;  // JavaScript no longer holds the handle
  napi_env env;
  napi_ref refs[7];  // the six buffers and onBatch, kept alive while open
  napi_ref resource;
  napi_async_context async;
  uint8_t *in;
  int32_t *in_lens;
  uint8_t *addrs;
  uint8_t *out;
  size_t out_size;
  int32_t *out_offs;
  int32_t *out_lens;
  size_t slot_size;
  int slots;
  struct mmsghdr *msgs;
  struct iovec *iovs;
  double stats[4];  // batches, datagrams received, replies dropped (EAGAIN), send errors
} udp_batch;

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char text[160];
  snprintf(text, sizeof text, "%s %s", syscall, strerror(err));
  napi_value msg, code, error;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  // Node's own errno names for the codes callers act on; others keep the number.
  const char *name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EINVAL ? "EINVAL" : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  napi_set_named_property(env, error, "code", code);
  napi_value sys, no;
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_create_int32(env, -err, &no);
  napi_set_named_property(env, error, "errno", no);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *text) {
  napi_throw_type_error(env, NULL, text);
  return NULL;
}

static int buffer_arg(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) return napi_get_buffer_info(env, v, data, len) == napi_ok;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok) return 0;
    *len = type == napi_int32_array ? length * 4 : length;
    return 1;
  }
  return 0;
}

static socklen_t addr_len(const uint8_t *addr) {
  return ((const struct sockaddr *)addr)->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/** Sends replies [0, n) of `msgs`, skipping any one the kernel refuses; stops at EAGAIN. */
static void send_all(udp_batch *s, struct mmsghdr *msgs, int n) {
  int i = 0;
  while (i < n) {
    int sent = sendmmsg(s->fd, msgs + i, n - i, MSG_DONTWAIT);
    if (sent > 0) {
      i += sent;
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      s->stats[2] += n - i;
      return;
    }
    s->stats[3]++;
    i++;  // this reply cannot go (e.g. an unreachable address): the others still can
  }
}

static void teardown(udp_batch *s);

static void on_readable(uv_poll_t *handle, int status, int events) {
  udp_batch *s = (udp_batch *)handle->data;
  // An error status (EPOLLERR) needs no handling of its own: reading clears a pending socket error.
  if (s->closed) return;
  napi_env env = s->env;
  // Drain a few batches per wakeup, then let the event loop run timers and other sockets.
  for (int round = 0; round < 4 && !s->closed; round++) {
    for (int i = 0; i < s->slots; i++) {
      s->iovs[i].iov_base = s->in + (size_t)i * s->slot_size;
      s->iovs[i].iov_len = s->slot_size;
      s->msgs[i].msg_hdr.msg_iov = &s->iovs[i];
      s->msgs[i].msg_hdr.msg_iovlen = 1;
      s->msgs[i].msg_hdr.msg_name = s->addrs + (size_t)i * ADDR_SIZE;
      s->msgs[i].msg_hdr.msg_namelen = ADDR_SIZE;
      s->msgs[i].msg_hdr.msg_control = NULL;
      s->msgs[i].msg_hdr.msg_controllen = 0;
      s->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, s->slots, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    s->stats[0]++;
    s->stats[1] += n;
    for (int i = 0; i < n; i++) {
      // A datagram longer than a slot was cut short: no DNS query is that long, drop it.
      s->in_lens[i] = (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)s->msgs[i].msg_len;
      s->out_lens[i] = 0;
    }

    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value resource, callback, argv[1], result;
    napi_get_reference_value(env, s->resource, &resource);
    napi_get_reference_value(env, s->refs[6], &callback);
    napi_create_int32(env, n, &argv[0]);
    // make_callback, not call_function: it runs the microtasks (promise reactions) afterwards.
    s->in_callback = 1;
    napi_status st = napi_make_callback(env, s->async, resource, callback, 1, argv, &result);
    s->in_callback = 0;
    if (st == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
    napi_close_handle_scope(env, scope);
    if (s->closed) {
      teardown(s);
      return;
    }

    // Compact the replies in place: msgs[k] for the k-th datagram that has one.
    int k = 0;
    for (int i = 0; i < n; i++) {
      int32_t len = s->out_lens[i], off = s->out_offs[i];
      if (len <= 0 || off < 0 || (size_t)off + (size_t)len > s->out_size) continue;
      s->iovs[k].iov_base = s->out + off;
      s->iovs[k].iov_len = (size_t)len;
      struct msghdr *h = &s->msgs[k].msg_hdr;
      h->msg_iov = &s->iovs[k];
      h->msg_iovlen = 1;
      h->msg_name = s->addrs + (size_t)i * ADDR_SIZE;
      h->msg_namelen = addr_len(h->msg_name);
      h->msg_control = NULL;
      h->msg_controllen = 0;
      h->msg_flags = 0;
      k++;
    }
    send_all(s, s->msgs, k);
    if (n < s->slots) return;
  }
}


static void destroy(udp_batch *s) {
  free(s->msgs);
  free(s->iovs);
  free(s);
}

static void on_close(uv_handle_t *handle) {
  udp_batch *s = (udp_batch *)handle->data;
  s->uv_closed = 1;
  if (s->finalized) destroy(s);
}

// The handle may outlive close() (a slow answer calls sendTo later): freed when both are done.
// One collected while still open stays open (and allocated), like an unclosed dgram socket.
static void on_finalize(napi_env env, void *data, void *hint) {
  udp_batch *s = (udp_batch *)data;
  s->finalized = 1;
  if (s->uv_closed) destroy(s);
}

/** Drops the references to the JavaScript side and hands the poll handle back to libuv. */
static void teardown(udp_batch *s) {
  napi_env env = s->env;
  for (int i = 0; i < 7; i++) napi_delete_reference(env, s->refs[i]);
  napi_async_destroy(env, s->async);
  napi_delete_reference(env, s->resource);
  uv_close((uv_handle_t *)&s->poll, on_close);
}

static udp_batch *unwrap(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (udp_batch *)p;
}

// open(host, port, slotSize, in, inLens, addrs, out, outOffs, outLens, onBatch) -> handle
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 10) return throw_type(env, "open: 10 arguments");
  char host[64];
  size_t host_len;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len) != napi_ok) return throw_type(env, "open: host");
  uint32_t port, slot_size;
  napi_get_value_uint32(env, argv[1], &port);
  napi_get_value_uint32(env, argv[2], &slot_size);
  void *bufs[6];
  size_t lens[6];
  for (int i = 0; i < 6; i++)
    if (!buffer_arg(env, argv[3 + i], &bufs[i], &lens[i])) return throw_type(env, "open: buffers");
  napi_valuetype t;
  napi_typeof(env, argv[9], &t);
  if (t != napi_function) return throw_type(env, "open: onBatch");
  if (slot_size == 0) return throw_type(env, "open: slotSize");
  size_t slots = lens[1] / 4;
  if (slots == 0 || slots > MAX_SLOTS || lens[0] < slots * slot_size || lens[2] < slots * ADDR_SIZE || lens[4] < slots * 4 ||
      lens[5] < slots * 4)
    return throw_type(env, "open: buffer sizes");

  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof sa);
  socklen_t sa_len;
  int family;
  if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&sa)->sin_addr) == 1) {
    family = AF_INET;
    ((struct sockaddr_in *)&sa)->sin_family = AF_INET;
    ((struct sockaddr_in *)&sa)->sin_port = htons(port);
    sa_len = sizeof(struct sockaddr_in);
  } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&sa)->sin6_addr) == 1) {
    family = AF_INET6;
    ((struct sockaddr_in6 *)&sa)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
    sa_len = sizeof(struct sockaddr_in6);
  } else {
    return throw_errno(env, "bind", EINVAL);
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (bind(fd, (struct sockaddr *)&sa, sa_len) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bound_len);
  int bound_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port : ((struct sockaddr_in6 *)&bound)->sin6_port);

  udp_batch *s = calloc(1, sizeof *s);
  s->msgs = calloc(slots, sizeof *s->msgs);
  s->iovs = calloc(slots, sizeof *s->iovs);
  s->fd = fd;
  s->family = family;
  s->env = env;
  s->slots = (int)slots;
  s->slot_size = slot_size;
  s->in = bufs[0];
  s->in_lens = bufs[1];
  s->addrs = bufs[2];
  s->out = bufs[3];
  s->out_size = lens[3];
  s->out_offs = bufs[4];
  s->out_lens = bufs[5];
  for (int i = 0; i < 6; i++) napi_create_reference(env, argv[3 + i], 1, &s->refs[i]);
  napi_create_reference(env, argv[9], 1, &s->refs[6]);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &s->resource);
  napi_create_string_utf8(env, "svcnet:udp-batch", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &s->async);

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);

  napi_value handle, port_value;
  napi_create_external(env, s, on_finalize, NULL, &handle);
  napi_create_int32(env, bound_port, &port_value);
  napi_set_named_property(env, resource, "port", port_value);
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "port", port_value);
  return result;
}

// sendTo(handle, bytes, addr): one reply outside a batch (answers that took a while). Returns
// false when the kernel had no room (dropped) or refused it.
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  udp_batch *s = argc == 3 ? unwrap(env, argv[0]) : NULL;
  void *bytes, *addr;
  size_t len, addr_size;
  if (!s || !buffer_arg(env, argv[1], &bytes, &len) || !buffer_arg(env, argv[2], &addr, &addr_size) || addr_size < ADDR_SIZE)
    return throw_type(env, "sendTo(handle, bytes, addr)");
  int ok = 0;
  if (!s->closed) {
    ssize_t r;
    do r = sendto(s->fd, bytes, len, MSG_DONTWAIT, (struct sockaddr *)addr, addr_len(addr));
    while (r < 0 && errno == EINTR);
    ok = r >= 0;
    if (!ok) s->stats[(errno == EAGAIN || errno == EWOULDBLOCK) ? 2 : 3]++;
  }
  napi_get_boolean(env, ok, &result);
  return result;
}

// stats(handle) -> [batches, datagrams, dropped replies, send errors]
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  udp_batch *s = argc == 1 ? unwrap(env, argv[0]) : NULL;
  if (!s) return throw_type(env, "stats(handle)");
  napi_create_array_with_length(env, 4, &result);
  for (uint32_t i = 0; i < 4; i++) {
    napi_create_double(env, s->stats[i], &v);
    napi_set_element(env, result, i, v);
  }
  return result;
}

// close(handle): stops reading and closes the socket at once (the port is free on return).
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  udp_batch *s = argc == 1 ? unwrap(env, argv[0]) : NULL;
  if (!s) return throw_type(env, "close(handle)");
  if (s->closed) return NULL;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  s->fd = -1;
  if (!s->in_callback) teardown(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value addr_size;
  napi_create_int32(env, ADDR_SIZE, &addr_size);
  napi_set_named_property(env, exports, "ADDR_SIZE", addr_size);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
