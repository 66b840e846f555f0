// The only native code of @ipc: POSIX shared memory, mmap and futex system calls, plus a pipe for
// the per-thread doorbell. Every policy (validation, layouts, waiter registration, cleanup) lives in
// TypeScript. No static mutable state: the addon is loaded once per worker thread, and each
// environment keeps its own State (instance data) that a cleanup hook tears down.
#include <napi.h>
#include <uv.h>
#include <v8.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace {

// The bytes an environment has mapped, as reported to V8. V8 does not count the backing stores of
// SharedArrayBuffers toward its GC heuristics, so a process that closes and unlinks many segments
// would keep them all mapped (and their /dev/shm pages allocated) until some unrelated GC. Each
// mapping is therefore reported as external memory when it is made; `unmapped` collects the bytes
// released since, on any thread, and the JavaScript thread subtracts them at its next map. Owned by
// the environment's State and by every live mapping: the last one to go deletes it.
struct Ledger {
  std::atomic<int64_t> unmapped{0};
  std::atomic<int> refs{1};
};

void Unref(Ledger* l) {
  if (l->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete l;
}

// One mmap'ed segment, shared by the SharedArrayBuffers made over parts of it (the user region and
// the trailer). V8 frees each backing store on whichever thread drops the last reference, so the
// count is atomic; the mapping goes when the last buffer does.
struct Mapping {
  void* addr;
  size_t len;
  std::atomic<int> refs;
  Ledger* ledger;
};

void ReleaseMapping(void* /*data*/, size_t /*len*/, void* deleter_data) {
  Mapping* m = static_cast<Mapping*>(deleter_data);
  if (m->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    munmap(m->addr, m->len);
    m->ledger->unmapped.fetch_add(static_cast<int64_t>(m->len), std::memory_order_relaxed);
    Unref(m->ledger);
    delete m;
  }
}

// Per-environment state: the doorbell pipes this thread created, closed when the thread's
// environment is torn down (worker exit included).
struct Owned {
  std::string name;
  double startTime;
};

// The thread's doorbell reader: a uv_poll on the read end of its pipe, on the thread's own event loop.
// Reading here and handing JavaScript one Int32Array of rings per read halves a round trip compared
// with a net.Socket over the same pipe (docs/decisions/001-async-waits.md).
struct Doorbell {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  int fd;
  napi_async_cleanup_hook_handle cleanup;
};

struct State {
  Doorbell* bell = nullptr;
  std::vector<int> fds;
  // Segments this environment created with unlinkOnExit and has not unlinked yet.
  std::vector<Owned> owned;
  size_t trailerBytes = 0;
  Ledger* ledger = new Ledger();
  // What this environment has reported to V8 (mapped bytes minus the unmapped bytes subtracted).
  int64_t reported = 0;
};

// Unlinks `name` only if its trailer still names this process (pid and start time) as the creator:
// the name may have been unlinked and reused by someone else meanwhile.
void UnlinkIfOurs(const Owned& o, size_t trailerBytes) {
  int fd = shm_open(o.name.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return;
  struct stat st;
  bool ours = false;
  if (fstat(fd, &st) == 0 && trailerBytes > 0 && static_cast<size_t>(st.st_size) > trailerBytes) {
    char head[32];
    if (pread(fd, head, sizeof head, st.st_size - static_cast<off_t>(trailerBytes)) == static_cast<ssize_t>(sizeof head)) {
      int32_t pid;
      double start;
      memcpy(&pid, head + 20, 4);
      memcpy(&start, head + 24, 8);
      ours = pid == getpid() && start == o.startTime;
    }
  }
  close(fd);
  if (ours) shm_unlink(o.name.c_str());
}

// Runs when the environment is torn down (worker exit or terminate, and process teardown): a
// terminated worker never emits 'exit', so its segments are unlinked here.
void FinalizeState(Napi::Env /*env*/, State* s) {
  for (int fd : s->fds) close(fd);
  for (const Owned& o : s->owned) UnlinkIfOurs(o, s->trailerBytes);
  Unref(s->ledger);
  delete s;
}

State* GetState(Napi::Env env) { return env.GetInstanceData<State>(); }

// node-api has no SharedArrayBuffer constructor; node-api values are V8 locals underneath (Node
// converts them the same way in v8impl), so we cross the boundary by copying the handle.
napi_value ToNapi(v8::Local<v8::Value> v) {
  napi_value r;
  static_assert(sizeof(r) == sizeof(v), "napi_value and v8::Local must be the same size");
  memcpy(static_cast<void*>(&r), &v, sizeof(v));
  return r;
}

v8::Local<v8::Value> ToV8(napi_value v) {
  v8::Local<v8::Value> l;
  memcpy(static_cast<void*>(&l), &v, sizeof(v));
  return l;
}

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& what) {
  const char* name = strerrorname_np(err);
  std::string msg = std::string(syscall) + " " + what + ": " + strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

napi_value MakeSab(Mapping* m, size_t offset, size_t len) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  m->refs.fetch_add(1, std::memory_order_relaxed);
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(
      static_cast<char*>(m->addr) + offset, len, ReleaseMapping, m);
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  return ToNapi(sab);
}

// Maps the whole open file and returns [userBuffer, trailerBuffer | null, totalBytes].
// The trailer is the last `trailerBytes` of the file when its first 8 bytes equal `magic` and the
// user size it records fits; otherwise the whole file is user bytes (a segment made by another tool).
Napi::Value MapFd(Napi::Env env, int fd, size_t total, size_t trailerBytes, uint64_t magic, const std::string& name) {
  void* addr = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (addr == MAP_FAILED) return ThrowErrno(env, err, "mmap", name);
  State* s = GetState(env);
  s->ledger->refs.fetch_add(1, std::memory_order_relaxed);
  Mapping* m = new Mapping{addr, total, {1}, s->ledger};  // the 1 is ours, dropped below
  // May start a GC, which frees the unreachable mappings: that is the point (see Ledger).
  int64_t change = static_cast<int64_t>(total) - s->ledger->unmapped.exchange(0, std::memory_order_relaxed);
  s->reported += change;
  int64_t ignored;
  napi_adjust_external_memory(env, change, &ignored);
  size_t userSize = total;
  bool hasTrailer = false;
  if (trailerBytes > 0 && total >= trailerBytes + 1) {
    const char* t = static_cast<const char*>(addr) + (total - trailerBytes);
    uint64_t got, recorded;
    memcpy(&got, t, 8);
    memcpy(&recorded, t + 8, 8);
    if (got == magic && recorded >= 1 && recorded <= total - trailerBytes) {
      hasTrailer = true;
      userSize = static_cast<size_t>(recorded);
    }
  }
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Value(env, MakeSab(m, 0, userSize)));
  if (hasTrailer) {
    out.Set(1u, Napi::Value(env, MakeSab(m, total - trailerBytes, trailerBytes)));
  } else {
    out.Set(1u, env.Null());
  }
  out.Set(2u, Napi::Number::New(env, static_cast<double>(total)));
  ReleaseMapping(nullptr, 0, m);
  return out;
}

uint64_t MagicArg(const Napi::Value& v) {
  bool lossless = false;
  return v.As<Napi::BigInt>().Uint64Value(&lossless);
}

// create(name, totalBytes, exclusive, trailer: Uint8Array, magic: bigint) -> [user, trailer, total]
// The trailer is written with pwrite first, which also sets the file size in one step: whoever
// opens the segment and sees a non-zero size sees the trailer too.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  size_t total = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
  bool exclusive = info[2].As<Napi::Boolean>().Value();
  Napi::Uint8Array trailer = info[3].As<Napi::Uint8Array>();
  uint64_t magic = MagicArg(info[4]);
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0);
  int fd = shm_open(name.c_str(), flags, 0600);
  if (fd < 0) return ThrowErrno(env, errno, "shm_open", name);
  // umask may have narrowed 0600 further; never widen it, but make sure the owner can read and write.
  fchmod(fd, 0600);
  size_t tlen = trailer.ByteLength();
  off_t toff = static_cast<off_t>(total - tlen);
  const uint8_t* tdata = trailer.Data();
  size_t done = 0;
  while (done < tlen) {
    ssize_t n = pwrite(fd, tdata + done, tlen - done, toff + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      shm_unlink(name.c_str());
      return ThrowErrno(env, err, "pwrite", name);
    }
    done += static_cast<size_t>(n);
  }
  // Reserve every page now: a size /dev/shm cannot hold fails here (ENOSPC), not as SIGBUS later.
  int rc = posix_fallocate(fd, 0, static_cast<off_t>(total));
  if (rc != 0) {
    close(fd);
    shm_unlink(name.c_str());
    return ThrowErrno(env, rc, "posix_fallocate", name);
  }
  return MapFd(env, fd, total, tlen, magic, name);
}

// open(name, trailerBytes, magic: bigint) -> [user, trailer | null, total]
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  size_t trailerBytes = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
  uint64_t magic = MagicArg(info[2]);
  int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, errno, "shm_open", name);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, err, "fstat", name);
  }
  if (st.st_size == 0) {
    close(fd);
    return ThrowErrno(env, EAGAIN, "fstat", name + " (empty segment, still being created?)");
  }
  return MapFd(env, fd, static_cast<size_t>(st.st_size), trailerBytes, magic, name);
}

Napi::Value Unlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (shm_unlink(name.c_str()) != 0) return ThrowErrno(env, errno, "shm_unlink", name);
  return env.Undefined();
}

// reclaim() -> the bytes of this environment's mappings that a full garbage collection unmapped.
// For a create that found /dev/shm full: closed segments may still be mapped (and their pages
// allocated) until V8 collects them. Collects only when this environment has something mapped.
Napi::Value Reclaim(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* s = GetState(env);
  int64_t before = s->ledger->unmapped.load(std::memory_order_relaxed);
  if (s->reported - before <= 0) return Napi::Number::New(env, 0);
  // Full GCs, then waits for the array buffer sweeper: the deleters have run when this returns.
  v8::Isolate::GetCurrent()->LowMemoryNotification();
  int64_t freed = s->ledger->unmapped.load(std::memory_order_relaxed) - before;
  return Napi::Number::New(env, static_cast<double>(freed));
}

// The address of element `index` of an Int32Array over a SharedArrayBuffer.
int32_t* WordAddress(const Napi::CallbackInfo& info) {
  v8::Local<v8::Value> v = ToV8(info[0]);
  if (!v->IsInt32Array()) return nullptr;
  v8::Local<v8::Int32Array> ta = v.As<v8::Int32Array>();
  v8::Local<v8::ArrayBuffer> buf = ta->Buffer();
  std::shared_ptr<v8::BackingStore> store = buf->GetBackingStore();
  if (!store->IsShared()) return nullptr;
  uint32_t index = info[1].As<Napi::Number>().Uint32Value();
  return reinterpret_cast<int32_t*>(static_cast<char*>(store->Data()) + ta->ByteOffset()) + index;
}

long Futex(int32_t* addr, int op, int32_t val, const struct timespec* ts) {
  return syscall(SYS_futex, addr, op, val, ts, nullptr, 0);
}

// futexWait(view, index, expected, timeoutMs (negative = forever)) -> 0 ok, 1 not-equal, 2 timed-out.
// Shared (not FUTEX_PRIVATE) so that a wake from another process, through another mapping, finds us.
Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* addr = WordAddress(info);
  if (!addr) return ThrowType(env, "view must be an Int32Array over a SharedArrayBuffer");
  int32_t expected = info[2].As<Napi::Number>().Int32Value();
  double timeoutMs = info[3].As<Napi::Number>().DoubleValue();
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  if (timeoutMs >= 0) {
    int64_t ns = static_cast<int64_t>(timeoutMs * 1e6);
    end.tv_sec += ns / 1000000000;
    end.tv_nsec += ns % 1000000000;
    if (end.tv_nsec >= 1000000000) {
      end.tv_sec += 1;
      end.tv_nsec -= 1000000000;
    }
  }
  for (;;) {
    struct timespec rel, *prel = nullptr;
    if (timeoutMs >= 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t left = (end.tv_sec - now.tv_sec) * 1000000000LL + (end.tv_nsec - now.tv_nsec);
      if (left <= 0) return Napi::Number::New(env, 2);
      rel.tv_sec = left / 1000000000;
      rel.tv_nsec = left % 1000000000;
      prel = &rel;
    }
    long rc = Futex(addr, FUTEX_WAIT, expected, prel);
    if (rc == 0) return Napi::Number::New(env, 0);
    if (errno == EAGAIN) return Napi::Number::New(env, 1);
    if (errno == ETIMEDOUT) return Napi::Number::New(env, 2);
    if (errno == EINTR) {
      // A signal is not a wake: go back to sleep only while the word still holds `expected`.
      if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) != expected) return Napi::Number::New(env, 0);
      continue;
    }
    return ThrowErrno(env, errno, "futex", "FUTEX_WAIT");
  }
}

// futexWake(view, index, count) -> number of threads woken.
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* addr = WordAddress(info);
  if (!addr) return ThrowType(env, "view must be an Int32Array over a SharedArrayBuffer");
  int32_t count = info[2].As<Napi::Number>().Int32Value();
  long rc = Futex(addr, FUTEX_WAKE, count, nullptr);
  if (rc < 0) return ThrowErrno(env, errno, "futex", "FUTEX_WAKE");
  return Napi::Number::New(env, static_cast<double>(rc));
}

// pipe() -> [readFd, writeFd], both non-blocking and close-on-exec. The write end stays open for the
// thread's lifetime (other processes reopen it through /proc/<pid>/fd/<writeFd>); the state's
// cleanup closes it when the environment goes away.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return ThrowErrno(env, errno, "pipe2", "doorbell");
  GetState(env)->fds.push_back(fds[1]);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

// ring(fd, token, wordIndex, count) -> 0, or the errno of write(2) (EAGAIN: pipe full, EPIPE: no
// reader). One 12-byte write, atomic on a pipe (<= PIPE_BUF). Errors are returned, not thrown: they
// are expected and cheap to handle on this hot path.
Napi::Value Ring(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int32_t msg[3] = {info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value(),
                    static_cast<int32_t>(info[3].As<Napi::Number>().Uint32Value())};
  for (;;) {
    ssize_t n = write(fd, msg, sizeof msg);
    if (n == static_cast<ssize_t>(sizeof msg)) return Napi::Number::New(env, 0);
    if (n < 0 && errno == EINTR) continue;
    return Napi::Number::New(env, n < 0 ? errno : EIO);
  }
}

// own(name, startTime, trailerBytes) / disown(name): the segments to unlink at teardown.
Napi::Value Own(const Napi::CallbackInfo& info) {
  State* s = GetState(info.Env());
  s->owned.push_back({info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().DoubleValue()});
  s->trailerBytes = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
  return info.Env().Undefined();
}

Napi::Value Disown(const Napi::CallbackInfo& info) {
  State* s = GetState(info.Env());
  std::string name = info[0].As<Napi::String>().Utf8Value();
  for (size_t i = 0; i < s->owned.size(); i++) {
    if (s->owned[i].name == name) {
      s->owned.erase(s->owned.begin() + static_cast<long>(i));
      break;
    }
  }
  return info.Env().Undefined();
}

void OnDoorbell(uv_poll_t* h, int status, int /*events*/) {
  if (status < 0) return;
  Doorbell* b = static_cast<Doorbell*>(h->data);
  napi_env env = b->env;
  // A multiple of 12: rings are written whole (12 bytes <= PIPE_BUF), so reads never split one.
  int32_t buf[3 * 1024];
  for (;;) {
    ssize_t n = read(b->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    void* data = nullptr;
    napi_value ab, arr, cb, recv, result;
    bool ok = napi_create_arraybuffer(env, static_cast<size_t>(n), &data, &ab) == napi_ok;
    if (ok) {
      memcpy(data, buf, static_cast<size_t>(n));
      ok = napi_create_typedarray(env, napi_int32_array, static_cast<size_t>(n) / 4, ab, 0, &arr) == napi_ok &&
           napi_get_reference_value(env, b->callback, &cb) == napi_ok && napi_get_global(env, &recv) == napi_ok;
    }
    if (ok && napi_make_callback(env, nullptr, recv, cb, 1, &arr, &result) == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
    napi_close_handle_scope(env, scope);
    if (n < static_cast<ssize_t>(sizeof buf)) return;
  }
}

void OnDoorbellClosed(uv_handle_t* h) {
  Doorbell* b = static_cast<Doorbell*>(h->data);
  // Only now: a descriptor must not be closed while libuv still polls it.
  close(b->fd);
  napi_remove_async_cleanup_hook(b->cleanup);
  delete b;
}

// Environment teardown (worker exit or terminate, process teardown): close the poll handle before
// the loop goes away; the hook stays registered until libuv confirms the close.
void DoorbellCleanup(napi_async_cleanup_hook_handle /*handle*/, void* arg) {
  Doorbell* b = static_cast<Doorbell*>(arg);
  napi_delete_reference(b->env, b->callback);
  uv_poll_stop(&b->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&b->handle), OnDoorbellClosed);
}

// doorbellStart(readFd, callback(rings: Int32Array)): starts reading this thread's doorbell; the
// handle starts unreferenced (see doorbellRef).
Napi::Value DoorbellStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* s = GetState(env);
  if (s->bell) return ThrowType(env, "the doorbell of this thread is already started");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) return ThrowErrno(env, EINVAL, "uv_loop", "doorbell");
  Doorbell* b = new Doorbell();
  b->env = env;
  b->fd = info[0].As<Napi::Number>().Int32Value();
  int rc = uv_poll_init(loop, &b->handle, b->fd);
  if (rc != 0) {
    delete b;
    return ThrowErrno(env, -rc, "uv_poll_init", "doorbell");
  }
  b->handle.data = b;
  napi_create_reference(env, info[1], 1, &b->callback);
  rc = uv_poll_start(&b->handle, UV_READABLE, OnDoorbell);
  uv_unref(reinterpret_cast<uv_handle_t*>(&b->handle));
  napi_add_async_cleanup_hook(env, DoorbellCleanup, b, &b->cleanup);
  s->bell = b;
  if (rc != 0) return ThrowErrno(env, -rc, "uv_poll_start", "doorbell");
  return env.Undefined();
}

// doorbellRef(on): a doorbell with pending waits keeps the loop alive; an idle one must not.
Napi::Value DoorbellRef(const Napi::CallbackInfo& info) {
  State* s = GetState(info.Env());
  if (s->bell) {
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&s->bell->handle);
    if (info[0].As<Napi::Boolean>().Value()) uv_ref(h);
    else uv_unref(h);
  }
  return info.Env().Undefined();
}

// address(sharedArrayBuffer) -> the start address, to find its mapping in /proc/self/maps.
Napi::Value Address(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  v8::Local<v8::Value> v = ToV8(info[0]);
  if (!v->IsSharedArrayBuffer()) return ThrowType(env, "buffer must be a SharedArrayBuffer");
  std::shared_ptr<v8::BackingStore> store = v.As<v8::SharedArrayBuffer>()->GetBackingStore();
  return Napi::Number::New(env, static_cast<double>(reinterpret_cast<uintptr_t>(store->Data())));
}

// ---- Threads ---------------------------------------------------------------------------------
// The kernel's id of the calling thread (gettid), recorded by lock holders next to their pid, so that
// a waiter can tell a worker thread that ended (terminate(), a crash) from a live one: it looks the
// id up in /proc/<pid>/task (see process-info.ts). Policy stays in TypeScript.
Napi::Value ThreadId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(syscall(SYS_gettid)));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  State* state = new State();
  env.SetInstanceData<State, FinalizeState>(state);
  exports.Set("create", Napi::Function::New(env, Create, "create"));
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("unlink", Napi::Function::New(env, Unlink, "unlink"));
  exports.Set("reclaim", Napi::Function::New(env, Reclaim, "reclaim"));
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("own", Napi::Function::New(env, Own, "own"));
  exports.Set("disown", Napi::Function::New(env, Disown, "disown"));
  exports.Set("doorbellStart", Napi::Function::New(env, DoorbellStart, "doorbellStart"));
  exports.Set("doorbellRef", Napi::Function::New(env, DoorbellRef, "doorbellRef"));
  exports.Set("ring", Napi::Function::New(env, Ring, "ring"));
  exports.Set("address", Napi::Function::New(env, Address, "address"));
  // Threads
  exports.Set("threadId", Napi::Function::New(env, ThreadId, "threadId"));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace

NODE_API_MODULE(ipc_shm, Init)
