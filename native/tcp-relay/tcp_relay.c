// Byte relay for the userspace proxy: once JavaScript has accepted a client, chosen an endpoint
// and connected to it, this moves the bytes of the ESTABLISHED pair both ways inside the libuv
// loop, so no byte and no read event passes through Node's stream machinery or JavaScript.
//
// relay(clientFd, backendFd, splice, onClose) -> handle
//   Both fds are dup()ed: libuv refuses a second watcher on an fd number Node's own handle holds,
//   and the dups keep the sockets open whatever Node does with its fds until the relay ends. The
//   caller must have stopped Node reading both sockets, with nothing read and not yet delivered.
//   Direction d goes from side d to side 1-d (side 0 the client, 1 the backend):
//   - recv/send through a 16 KiB buffer per direction (HAProxy's default bufsize) while reads are
//     small, as requests and replies are; with `splice`, a read that fills the buffer switches
//     the direction to splice(2), socket → pipe → socket, zero-copy, 64 KiB a call, for as long
//     as the reads stay large (bulk transfers), like HAProxy's `option splice-auto`. The pipe is
//     made on first need, so request/response connections cost no extra fds. For small messages
//     recv/send is cheaper: splice pays for a pipe round trip and page references per message.
//   - backpressure: a side is read only while its direction has nothing left to write; a write
//     that meets a full socket (EAGAIN) waits for POLLOUT on the receiving side.
//   - half-close: EOF on side d → shutdown(SHUT_WR) on side 1-d, the other direction carries on.
//     shutdown, not close: the connection stays open while Node's fds still reference it.
//   - any error (RST, EPIPE, …) ends both directions.
//   When both directions are done (or on error, or abort) the dups and pipes are closed and
//   onClose(bytesUp, bytesDown, errorCode|null) is called; JavaScript then closes Node's sockets,
//   which releases the connections.
// abort(handle): ends the relay now (proxy shutdown); onClose still follows, asynchronously.
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

// Bytes per recv (the buffer each direction owns) and per splice (a pipe holds 64 KiB by default).
#define BUF_SIZE (16 * 1024)
#define PIPE_CHUNK (64 * 1024)
// Read/write rounds per direction per wakeup: then other connections get their turn (the poll is
// level-triggered, so what is left is reported again).
#define ROUNDS 8

typedef struct relay relay;

typedef struct {
  uv_poll_t poll;
  relay *r;
  int fd;
  int events;  // what the poll currently waits for
} side;

struct relay {
  side sides[2];
  int use_splice;  // bulk reads may go through a pipe
  int pipes[2][2];  // direction d: [read end, write end]; -1 until first needed
  uint8_t *bufs[2];  // direction d's recv buffer
  size_t off[2];
  size_t pending[2];  // bytes read from side d not yet written to side 1-d
  int in_pipe[2];  // the pending bytes are in the pipe, not the buffer
  int bulk[2];  // the last read was large: read the next through the pipe
  int eof[2];  // side d sent its FIN
  int done[2];  // direction d finished: FIN passed on to side 1-d
  int short_read[2];  // the last read drained side d: wait for the poll rather than read EAGAIN
  double bytes[2];
  int err;  // first errno that ended the relay
  int finished;
  int handles_open;
  int finalized;  // JavaScript no longer holds the handle
  int released;  // the JavaScript side has been called and dropped
  napi_env env;
  napi_ref callback;
  napi_ref resource;
  napi_async_context async;
};

static const char *errno_code(int err) {
  switch (err) {
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNABORTED: return "ECONNABORTED";
    case ECANCELED: return "ECANCELED";
    default: return "EIO";
  }
}

static void free_relay(relay *r) {
  free(r->bufs[0]);
  free(r->bufs[1]);
  free(r);
}

static void on_handle_closed(uv_handle_t *handle) {
  relay *r = ((side *)handle->data)->r;
  if (--r->handles_open > 0) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value resource, callback, argv[3], result;
  napi_get_reference_value(env, r->resource, &resource);
  napi_get_reference_value(env, r->callback, &callback);
  napi_create_double(env, r->bytes[0], &argv[0]);
  napi_create_double(env, r->bytes[1], &argv[1]);
  if (r->err)
    napi_create_string_utf8(env, errno_code(r->err), NAPI_AUTO_LENGTH, &argv[2]);
  else
    napi_get_null(env, &argv[2]);
  // make_callback, not call_function: it runs the microtasks (promise reactions) afterwards.
  napi_status st = napi_make_callback(env, r->async, resource, callback, 3, argv, &result);
  if (st == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
  napi_delete_reference(env, r->callback);
  napi_async_destroy(env, r->async);
  napi_delete_reference(env, r->resource);
  r->released = 1;
  if (r->finalized) free_relay(r);
}

/** Stops both polls, closes the dups and pipes; onClose follows once libuv lets go of the handles. */
static void finish(relay *r) {
  if (r->finished) return;
  r->finished = 1;
  for (int d = 0; d < 2; d++) {
    // Stopping the poll takes the fd out of epoll; only then may it be closed (the file itself
    // stays open through Node's fd, so epoll would not drop it on close alone).
    uv_poll_stop(&r->sides[d].poll);
    close(r->sides[d].fd);
    r->sides[d].fd = -1;
    if (r->pipes[d][0] >= 0) {
      close(r->pipes[d][0]);
      close(r->pipes[d][1]);
      r->pipes[d][0] = r->pipes[d][1] = -1;
    }
    uv_close((uv_handle_t *)&r->sides[d].poll, on_handle_closed);
  }
}

static int would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

/** Direction d's pipe, made on first need; 0 when none can be had (fd limit): then it copies. */
static int have_pipe(relay *r, int d) {
  if (r->pipes[d][0] >= 0) return 1;
  if (pipe2(r->pipes[d], O_NONBLOCK | O_CLOEXEC) == 0) return 1;
  r->pipes[d][0] = r->pipes[d][1] = -1;
  r->use_splice = 0;
  return 0;
}

/**
 * Moves what it can of direction d: first what is still pending, then new reads, until the
 * source is drained, the destination is full, or the round budget is spent. Returns 0, or -1
 * with r->err set.
 */
static int pump(relay *r, int d) {
  int from = r->sides[d].fd, to = r->sides[1 - d].fd;
  for (int round = 0; round < ROUNDS; round++) {
    while (r->pending[d] > 0) {
      ssize_t n = r->in_pipe[d] ? splice(r->pipes[d][0], NULL, to, NULL, r->pending[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                           : send(to, r->bufs[d] + r->off[d], r->pending[d], MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        r->pending[d] -= (size_t)n;
        r->off[d] += (size_t)n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && would_block(errno)) return 0;  // the poll now waits for POLLOUT on `to`
      r->err = n < 0 ? errno : EPIPE;
      return -1;
    }
    if (r->done[d]) return 0;
    if (r->eof[d]) {
      // ENOTCONN: the receiver is gone already; the other direction's write will tell.
      shutdown(to, SHUT_WR);
      r->done[d] = 1;
      return 0;
    }
    if (r->short_read[d]) {
      // The last read took all there was: a further one would almost surely be EAGAIN, a system
      // call per request for nothing. The level-triggered poll reports anything that came since.
      r->short_read[d] = 0;
      return 0;
    }
    int via_pipe = r->use_splice && r->bulk[d] && have_pipe(r, d);
    size_t room = via_pipe ? PIPE_CHUNK : BUF_SIZE;
    ssize_t n = via_pipe ? splice(from, NULL, r->pipes[d][1], NULL, room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                         : recv(from, r->bufs[d], room, MSG_DONTWAIT);
    if (n > 0) {
      r->pending[d] = (size_t)n;
      r->off[d] = 0;
      r->in_pipe[d] = via_pipe;
      r->bytes[d] += (double)n;
      r->short_read[d] = (size_t)n < room;
      r->bulk[d] = (size_t)n >= BUF_SIZE;
      continue;
    }
    if (n == 0) {
      r->eof[d] = 1;
      continue;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) return 0;
    r->err = errno;
    return -1;
  }
  return 0;
}

static void on_poll(uv_poll_t *handle, int status, int events);

/** Points each side's poll at what it now waits for: reading while its direction is empty, writing while the other's is not. */
static void update(relay *r) {
  for (int s = 0; s < 2; s++) {
    int want = 0;
    if (!r->eof[s] && r->pending[s] == 0) want |= UV_READABLE;
    if (r->pending[1 - s] > 0) want |= UV_WRITABLE;
    side *sd = &r->sides[s];
    if (want == sd->events) continue;
    sd->events = want;
    if (want)
      uv_poll_start(&sd->poll, want, on_poll);
    else
      uv_poll_stop(&sd->poll);
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  side *sd = (side *)handle->data;
  relay *r = sd->r;
  if (r->finished) return;
  int s = sd == &r->sides[0] ? 0 : 1;
  if (status < 0) {
    r->err = -status;
    finish(r);
    return;
  }
  // The side that can take bytes first, so its direction's pending bytes make room for reads.
  if ((events & UV_WRITABLE) && pump(r, 1 - s) < 0) {
    finish(r);
    return;
  }
  if ((events & UV_READABLE) && pump(r, s) < 0) {
    finish(r);
    return;
  }
  if (r->done[0] && r->done[1]) {
    finish(r);
    return;
  }
  update(r);
}

static void on_finalize(napi_env env, void *data, void *hint) {
  relay *r = (relay *)data;
  r->finalized = 1;
  if (r->released) free_relay(r);
}

static napi_value throw_type(napi_env env, const char *text) {
  napi_throw_type_error(env, NULL, text);
  return NULL;
}

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char text[160];
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  napi_throw_error(env, NULL, text);
  return NULL;
}

static napi_value js_relay(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_type(env, "relay(clientFd, backendFd, splice, onClose)");
  int32_t fds[2];
  bool use_splice;
  napi_valuetype t;
  napi_typeof(env, argv[3], &t);
  if (napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok || napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok ||
      fds[0] < 0 || fds[1] < 0 || napi_get_value_bool(env, argv[2], &use_splice) != napi_ok || t != napi_function)
    return throw_type(env, "relay(clientFd, backendFd, splice, onClose)");

  relay *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, "calloc", ENOMEM);
  r->env = env;
  r->use_splice = use_splice;
  for (int d = 0; d < 2; d++) {
    r->sides[d].fd = -1;
    r->pipes[d][0] = r->pipes[d][1] = -1;
  }
  int err = 0;
  for (int d = 0; d < 2 && !err; d++) {
    r->sides[d].fd = fcntl(fds[d], F_DUPFD_CLOEXEC, 0);
    if (r->sides[d].fd < 0) err = errno;
  }
  for (int d = 0; d < 2 && !err; d++) {
    r->bufs[d] = malloc(BUF_SIZE);
    if (!r->bufs[d]) err = ENOMEM;
  }
  if (err) {
    for (int d = 0; d < 2; d++) {
      if (r->sides[d].fd >= 0) close(r->sides[d].fd);
    }
    free_relay(r);
    return throw_errno(env, "relay", err);
  }

  napi_create_reference(env, argv[3], 1, &r->callback);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &r->resource);
  napi_create_string_utf8(env, "svcnet:tcp-relay", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &r->async);

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  for (int d = 0; d < 2; d++) {
    side *sd = &r->sides[d];
    sd->r = r;
    uv_poll_init(loop, &sd->poll, sd->fd);
    sd->poll.data = sd;
    r->handles_open++;
  }
  update(r);

  napi_value handle;
  napi_create_external(env, r, on_finalize, NULL, &handle);
  return handle;
}

static napi_value js_abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) return throw_type(env, "abort(handle)");
  relay *r = (relay *)p;
  if (!r->finished) {
    r->err = ECANCELED;
    finish(r);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"relay", NULL, js_relay, NULL, NULL, NULL, napi_default, NULL},
      {"abort", NULL, js_abort, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
