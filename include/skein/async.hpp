// skein/async.hpp — the current context across threads, pools, futures and coroutines.
//
// The current context is thread-local, so work that moves to another thread must take it along:
//
//     pool.submit(skein::wrap([] { auto s = skein::span("task"); }));  // child of the caller's
//     span auto f = skein::async(std::launch::async, compute, 42);           // a context-carrying
//     std::async
//
// `wrap(fn)` captures `Context::current()` when it is called and runs `fn` under a `Scope` of
// that context, wherever and whenever it runs. Spans started inside are children of the span
// that was current at wrap time.
//
// Coroutines: `skein::Task<T>` is a lazy coroutine type that keeps its own context across every
// `co_await`. When it resumes — on any thread, after any awaitable (an executor hop, a timer, I/O)
// — the current span is the one that was current when it suspended, `enrich_span` reaches it, and
// spans started there are its children. While the task is suspended the thread gets back the
// context it had before, so a pool thread never inherits a stray span. It works with any executor:
// `co_await skein::resume_on(pool)` needs only `pool.execute(fn)`, `pool.post(fn)` or `pool(fn)`.
//
//     skein::Task<int> fetch(int id) {
//       auto span = skein::span("fetch");
//       co_await skein::resume_on(pool);           // now on a pool thread, still inside "fetch"
//       auto child = skein::span("parse");         // child of "fetch"
//       co_return id;
//     }
//     int v = skein::sync_wait(fetch(1));          // or co_await fetch(1) from another Task
//
// `when_all(tasks)` runs tasks concurrently, each a child of the awaiting span; `spawn(task)`
// starts one detached. Awaiting a `Task` from a foreign coroutine type works (the task inherits
// the current context), but only `Task` bodies get their context restored after a suspension.
#pragma once

#include <atomic>
#include <concepts>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "skein/context.hpp"
#include "skein/detail/context_state.hpp"

namespace skein {

// ---- callables
// -----------------------------------------------------------------------------------

/// A callable bound to a context; see `wrap`.
template <class F>
class Wrapped {
 public:
  Wrapped(Context ctx, F fn) : ctx_(std::move(ctx)), fn_(std::move(fn)) {}

  template <class... A>
  requires std::invocable<F&, A...>
  decltype(auto) operator()(A&&... args) {
    Scope scope(ctx_);
    return std::invoke(fn_, std::forward<A>(args)...);
  }
  template <class... A>
  requires std::invocable<const F&, A...>
  decltype(auto) operator()(A&&... args) const {
    Scope scope(ctx_);
    return std::invoke(fn_, std::forward<A>(args)...);
  }

  /// The captured context.
  [[nodiscard]] const Context& context() const noexcept { return ctx_; }

 private:
  Context ctx_;
  F fn_;
};

/// `fn` bound to the calling thread's current context; see the file comment.
template <class F>
[[nodiscard]] Wrapped<std::decay_t<F>> wrap(F&& fn) {
  return Wrapped<std::decay_t<F>>(Context::current(), std::forward<F>(fn));
}

/// `fn` bound to an explicit context (for example one from `extract`).
template <class F>
[[nodiscard]] Wrapped<std::decay_t<F>> wrap(const Context& ctx, F&& fn) {
  return Wrapped<std::decay_t<F>>(ctx, std::forward<F>(fn));
}

/// std::async whose task runs in the caller's current context.
template <class F, class... Args>
[[nodiscard]] auto async(std::launch policy, F&& fn, Args&&... args) {
  return std::async(policy, skein::wrap(std::forward<F>(fn)), std::forward<Args>(args)...);
}

/// std::async with the default launch policy, in the caller's current context.
template <class F, class... Args>
requires(!std::same_as<std::decay_t<F>, std::launch>)
    [[nodiscard]] auto async(F&& fn, Args&&... args) {
  return skein::async(std::launch::async | std::launch::deferred, std::forward<F>(fn),
                      std::forward<Args>(args)...);
}

// ---- coroutines
// ----------------------------------------------------------------------------------

template <class T = void>
class Task;

namespace detail {

/// Awaitables that manage the context themselves are not wrapped by Task's await_transform.
template <class T>
concept ContextAware = requires {
  typename std::remove_cvref_t<T>::skein_context_aware;
};

/// What every Task promise keeps about the context. `mine` is the coroutine's own context while
/// it waits on a foreign awaitable; `outer` is the context of whoever resumed it, given back to
/// that thread whenever the coroutine suspends.
struct TaskPromiseBase {
  ContextState mine{};
  ContextState outer{};
  std::coroutine_handle<> continuation{};
  TaskPromiseBase* parent = nullptr;  // the awaiting Task, which takes `outer` back
  std::exception_ptr error{};
  // For a task started without a continuation: called after the thread's context is restored;
  // returns the coroutine to run next. The frame may be destroyed as soon as it is called.
  std::coroutine_handle<> (*on_done)(void* arg) noexcept = nullptr;
  void* on_done_arg = nullptr;
  bool detached = false;                        // spawn(): the frame destroys itself
  std::shared_ptr<const ContextExtras> keep{};  // a detached task's baggage and trace state

  std::suspend_always initial_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    TaskPromiseBase& p = h.promise();
    if (p.continuation) {
      if (p.parent != nullptr) p.parent->outer = p.outer;
      return p.continuation;  // its awaiter restores the awaiting coroutine's context
    }
    current_state() = p.outer;
    if (p.detached) {
      h.destroy();
      return std::noop_coroutine();
    }
    if (p.on_done != nullptr) return p.on_done(p.on_done_arg);
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
    return std::forward<A>(a).operator co_await();
  } else if constexpr (requires { operator co_await(std::forward<A>(a)); }) {
    return operator co_await(std::forward<A>(a));
  } else {
    return std::forward<A>(a);
  }
}

/// Wraps a foreign awaiter: the coroutine's context is saved when it suspends (the thread gets
/// back its resumer's context) and reinstalled when it resumes, on whatever thread.
template <class A>
struct ContextAwaiter {
  A inner;
  TaskPromiseBase* promise;
  bool suspended = false;

  bool await_ready() { return inner.await_ready(); }

  template <class H>
  auto await_suspend(H h) {
    ContextState& cur = current_state();
    promise->mine = cur;
    cur = promise->outer;
    suspended = true;
    // Nothing may touch the frame after inner.await_suspend: another thread may already run it.
    try {
      return inner.await_suspend(h);
    } catch (...) {
      current_state() = promise->mine;
      suspended = false;
      throw;
    }
  }

  decltype(auto) await_resume() {
    if (suspended) {
      ContextState& cur = current_state();
      promise->outer = cur;
      cur = promise->mine;
    }
    return inner.await_resume();
  }
};

template <class P, class A>
decltype(auto) transform(P& promise, A&& a) {
  if constexpr (ContextAware<A>) {
    return std::forward<A>(a);
  } else {
    using Inner = decltype(get_awaiter(std::forward<A>(a)));
    return ContextAwaiter<Inner>{get_awaiter(std::forward<A>(a)), &promise};
  }
}

template <class T>
struct TaskResult {
  std::optional<T> value{};
  template <class U>
  requires std::convertible_to<U&&, T>
  void return_value(U&& v) { value.emplace(std::forward<U>(v)); }
};

template <>
struct TaskResult<void> {
  void return_void() const noexcept {}
};

template <class U>
struct WhenAllAwaiter;

}  // namespace detail

/// A lazy coroutine that keeps its context across suspensions; see the file comment. Move-only;
/// await it once (or pass it to `sync_wait`, `spawn`, `when_all`).
template <class T>
class [[nodiscard]] Task {
 public:
  using skein_context_aware = void;
  using value_type = T;

  struct promise_type : detail::TaskPromiseBase, detail::TaskResult<T> {
    Task get_return_object() noexcept {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    detail::FinalAwaiter final_suspend() const noexcept { return {}; }
    template <class A>
    decltype(auto) await_transform(A&& a) {
      return detail::transform(*this, std::forward<A>(a));
    }
  };
  using handle_type = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }

  /// Awaiting runs the task (in the awaiting coroutine's context) and resumes with its result.
  struct Awaiter {
    handle_type h;
    detail::ContextState saved{};
    bool started = false;

    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> awaiting) noexcept {
      detail::ContextState& cur = detail::current_state();
      saved = cur;
      started = true;
      auto& child = h.promise();
      child.continuation = awaiting;
      if constexpr (std::is_base_of_v<detail::TaskPromiseBase, P>) {
        child.parent = &awaiting.promise();
        child.outer = awaiting.promise().outer;
      } else {
        child.parent = nullptr;
        child.outer = cur;
      }
      return h;  // the child starts with the awaiting coroutine's context: its spans are children
    }
    T await_resume() {
      if (started) detail::current_state() = saved;
      return take(h);
    }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }
  Awaiter operator co_await() & noexcept { return Awaiter{h_}; }

  /// The coroutine handle, for integrations (executors that start tasks themselves).
  [[nodiscard]] handle_type handle() const noexcept { return h_; }
  /// Gives up ownership of the frame.
  handle_type release() noexcept { return std::exchange(h_, {}); }

  /// The result of a finished task (rethrows its exception).
  static T take(handle_type h) {
    auto& p = h.promise();
    if (p.error) std::rethrow_exception(p.error);
    if constexpr (!std::is_void_v<T>) return std::move(*p.value);
  }

 private:
  explicit Task(handle_type h) noexcept : h_(h) {}
  handle_type h_{};
};

namespace detail {

template <class Ex, class F>
void post_to(Ex& ex, F&& fn) {
  if constexpr (requires { ex.execute(std::forward<F>(fn)); }) {
    ex.execute(std::forward<F>(fn));
  } else if constexpr (requires { ex.post(std::forward<F>(fn)); }) {
    ex.post(std::forward<F>(fn));
  } else {
    static_assert(std::invocable<Ex&, F>,
                  "resume_on: the executor needs execute(fn), post(fn) or operator()(fn)");
    ex(std::forward<F>(fn));
  }
}

/// Starts every task concurrently; the last one to finish resumes the awaiting coroutine. The
/// state lives in the when_all frame; the awaiter is a copyable handle to it.
template <class U>
struct WhenAllState {
  std::vector<Task<U>>& tasks;
  std::atomic<std::size_t> pending{0};
  std::coroutine_handle<> awaiting{};
  TaskPromiseBase* awaiting_promise = nullptr;
  ContextState saved{};
  bool suspended = false;

  static std::coroutine_handle<> child_done(void* arg) noexcept {
    auto* self = static_cast<WhenAllState*>(arg);
    if (self->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) return self->awaiting;
    return std::noop_coroutine();
  }
};

template <class U>
struct WhenAllAwaiter {
  using skein_context_aware = void;
  WhenAllState<U>* st;

  bool await_ready() const noexcept { return st->tasks.empty(); }

  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    WhenAllState<U>& s = *st;
    s.awaiting = h;
    s.awaiting_promise = &h.promise();
    ContextState& cur = current_state();
    s.saved = cur;
    // Siblings run concurrently: they share the awaiting span as parent but never its record.
    ContextState child_ctx = s.saved;
    child_ctx.record = nullptr;
    s.pending.store(s.tasks.size() + 1, std::memory_order_relaxed);
    for (Task<U>& t : s.tasks) {
      auto& cp = t.handle().promise();
      cp.on_done = &WhenAllState<U>::child_done;
      cp.on_done_arg = &s;
      cp.outer = child_ctx;
      current_state() = child_ctx;
      t.handle().resume();
    }
    const ContextState outer = s.awaiting_promise->outer;
    const ContextState saved = s.saved;
    s.suspended = true;
    // After this decrement another thread may resume the awaiting coroutine: no more frame use.
    if (s.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      s.suspended = false;
      current_state() = saved;
      return false;
    }
    current_state() = outer;
    return true;
  }

  void await_resume() noexcept {
    ContextState& cur = current_state();
    if (st->suspended) st->awaiting_promise->outer = cur;
    cur = st->saved;
  }
};

}  // namespace detail

/// Awaitable that continues the coroutine on `executor` (anything with `execute(fn)`, `post(fn)`
/// or `operator()(fn)`). Inside a Task the context survives the hop.
template <class Ex>
[[nodiscard]] auto resume_on(Ex& executor) {
  struct Awaiter {
    Ex& ex;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      detail::post_to(ex, [h]() mutable { h.resume(); });
    }
    void await_resume() const noexcept {}
  };
  return Awaiter{executor};
}

/// Runs the task to completion, blocking the calling thread, and returns its result (or rethrows
/// its exception). The task starts in the caller's current context.
template <class T>
T sync_wait(Task<T> task) {
  struct Waiter {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
  } w;
  auto h = task.handle();
  auto& p = h.promise();
  p.on_done = [](void* arg) noexcept -> std::coroutine_handle<> {
    auto* wp = static_cast<Waiter*>(arg);
    std::lock_guard<std::mutex> lock(wp->m);
    wp->done = true;
    wp->cv.notify_all();
    return std::noop_coroutine();
  };
  p.on_done_arg = &w;
  p.outer = detail::current_state();
  h.resume();
  {
    std::unique_lock<std::mutex> lock(w.m);
    w.cv.wait(lock, [&] { return w.done; });
  }
  return Task<T>::take(h);
}

/// Starts the task now, detached: it runs on the calling thread until its first suspension, then
/// wherever it is resumed, and frees itself when done (an exception it throws is dropped). It
/// starts in the caller's current context (its spans are children of the current span), but
/// does not enrich the caller's span, which may end first.
inline void spawn(Task<void> task) {
  auto h = task.release();
  if (!h) return;
  auto& p = h.promise();
  p.detached = true;
  detail::ContextState& cur = detail::current_state();
  const detail::ContextState saved = cur;
  if (cur.extras != nullptr) p.keep = *cur.extras;
  p.outer = saved;
  cur.record = nullptr;
  cur.extras = p.keep ? &p.keep : nullptr;
  h.resume();  // the frame may be gone after this
  detail::current_state() = saved;
}

/// Runs the tasks concurrently and resumes when all are done, with their results in order (the
/// first exception, if any, is rethrown). Each task is a child of the awaiting span.
template <class U>
Task<std::conditional_t<std::is_void_v<U>, void, std::vector<U>>> when_all(
    std::vector<Task<U>> tasks) {
  detail::WhenAllState<U> state{tasks};
  co_await detail::WhenAllAwaiter<U>{&state};
  if constexpr (std::is_void_v<U>) {
    for (Task<U>& t : tasks) Task<U>::take(t.handle());
  } else {
    std::vector<U> out;
    out.reserve(tasks.size());
    for (Task<U>& t : tasks) out.push_back(Task<U>::take(t.handle()));
    co_return out;
  }
}

}  // namespace skein
