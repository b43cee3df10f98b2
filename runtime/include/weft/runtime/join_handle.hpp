// weft/runtime/join_handle.hpp: the owning handle of a spawned task and its result.
//
// JoinHandle<T> is move-only. join() waits for the task and returns its value or rethrows its
// exception; dropping the handle (or detach()) lets the task run on unobserved; cancel() asks it
// to stop: a task that has not started never runs (join() then throws std::system_error with
// weft::errc::cancelled), a started one sees errc::cancelled from its next blocking call.
//
// Thread-safety: one JoinHandle is used by one thread or fiber at a time; cancel() and
// is_finished() race safely with the task itself.
//
//   weft::JoinHandle<int> h = rt.spawn([] { return 42; });
//   int v = h.join();   // blocks a plain thread; inside a fiber, suspends only that fiber
#pragma once

#include <weft/sched/error.hpp>
#include <weft/sched/task.hpp>
#include <weft/sched/this_fiber.hpp>

#include <exception>
#include <functional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft {

namespace detail {

// ResultTask<T>: a task whose outcome is a T (or void) or an exception.
struct VoidResult {};

template <class T>
class ResultTask : public sched::Task {
  static_assert(!std::is_reference_v<T>, "a spawned function must return a value, not a reference");
  using Stored = std::conditional_t<std::is_void_v<T>, VoidResult, T>;

 public:
  // take: the outcome; call once, after the task finished. An exception is moved out first, so the
  // task keeps no reference to it: the task's last unref may run on another thread, and the
  // exception's reference count lives in libstdc++, where TSan cannot see it order that release
  // after the catcher's use (it reported a race on the exception object).
  T take() {
    if (auto* e = std::get_if<std::exception_ptr>(&out_)) {
      std::exception_ptr ex = std::move(*e);
      out_.template emplace<std::monostate>();
      std::rethrow_exception(std::move(ex));
    }
    if constexpr (!std::is_void_v<T>) return std::move(std::get<Stored>(out_));
  }

 protected:
  template <class F>
  void run_and_store(F& f) noexcept {
    try {
      if constexpr (std::is_void_v<T>) {
        std::invoke(f);
        out_.template emplace<Stored>();
      } else {
        out_.template emplace<Stored>(std::invoke(f));
      }
    } catch (...) {
      out_.template emplace<std::exception_ptr>(std::current_exception());
    }
  }
  void store_abandoned(std::exception_ptr why) noexcept {
    try {
      out_.template emplace<std::exception_ptr>(
          why ? why : std::make_exception_ptr(std::system_error(make_error_code(errc::cancelled))));
    } catch (...) {
      out_.template emplace<std::exception_ptr>(std::current_exception());
    }
  }

 private:
  std::variant<std::monostate, Stored, std::exception_ptr> out_;
};

// FnTask<F>: runs a callable once; the callable is destroyed as soon as it has run.
template <class F>
class FnTask final : public ResultTask<std::invoke_result_t<F&>> {
 public:
  explicit FnTask(F&& f) { ::new (static_cast<void*>(&fn_)) F(std::move(f)); }
  ~FnTask() override {
    if (alive_) fn_.~F();
  }

 protected:
  void run() noexcept override {
    this->run_and_store(fn_);
    destroy_fn();
  }
  void abandon(std::exception_ptr why) noexcept override {
    destroy_fn();
    this->store_abandoned(std::move(why));
  }

 private:
  void destroy_fn() noexcept {
    if (alive_) {
      alive_ = false;
      fn_.~F();
    }
  }
  union {
    F fn_;
  };
  bool alive_ = true;
};

}  // namespace detail

// JoinHandle<T>: see the file comment.
template <class T>
class [[nodiscard]] JoinHandle {
 public:
  JoinHandle() noexcept = default;
  explicit JoinHandle(detail::ResultTask<T>* task) noexcept : task_(task) {}
  JoinHandle(JoinHandle&& o) noexcept : task_(std::exchange(o.task_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& o) noexcept {
    if (this != &o) {
      detach();
      task_ = std::exchange(o.task_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  // ~JoinHandle: detaches; the task keeps running.
  ~JoinHandle() { detach(); }

  // join: waits until the task finished and returns its value, or rethrows its exception
  // (std::system_error with errc::cancelled when it was cancelled before it started). Blocks a
  // plain thread; inside a fiber suspends only that fiber. Throws std::system_error(errc::cancelled)
  // when the *joining* fiber is cancelled while it waits (the handle stays valid), and
  // std::logic_error on an empty handle or when a task joins itself. Empties the handle.
  T join() {
    if (!task_) throw std::logic_error("weft::JoinHandle::join on an empty handle");
    if (task_->id() == this_fiber::id()) throw std::logic_error("weft::JoinHandle::join: a task cannot join itself");
    if (auto r = task_->wait_finished(); !r) throw std::system_error(r.error());
    detail::ResultTask<T>* t = std::exchange(task_, nullptr);
    struct Release {
      detail::ResultTask<T>* t;
      ~Release() { t->unref(); }
    } release{t};
    return t->take();
  }

  // cancel: asks the task to stop (see the file comment). Never blocks; no-op on an empty handle.
  void cancel() noexcept {
    if (task_) task_->request_cancel();
  }
  // detach: drops the handle; the task runs on and its result is discarded.
  void detach() noexcept {
    if (task_) std::exchange(task_, nullptr)->unref();
  }
  // is_finished: true once join() would not wait.
  bool is_finished() const noexcept { return task_ && task_->is_finished(); }
  // id: the task's FiberId (0 for an empty handle).
  FiberId id() const noexcept { return task_ ? task_->id() : 0; }
  explicit operator bool() const noexcept { return task_ != nullptr; }

 private:
  detail::ResultTask<T>* task_ = nullptr;
};

}  // namespace weft
