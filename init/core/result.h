// Result<T>: a value or an error carrying errno and what was being done.
// Used by every syscall wrapper so failures travel up with their context.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace strata {

struct Error {
  int err = 0;          // errno, or 0 when the failure is not a syscall's
  std::string context;  // what was being done, e.g. "mount overlay on /newroot"

  std::string message() const {
    if (err == 0) return context;
    return context + ": " + std::strerror(err);
  }
};

// Builds an Error from the current errno.
inline Error errno_error(std::string context) {
  return Error{errno, std::move(context)};
}
inline Error plain_error(std::string context) {
  return Error{0, std::move(context)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return e_; }

 private:
  Error e_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace strata
