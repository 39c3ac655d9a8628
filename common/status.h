// One error style for all of flare: functions that can fail return Status or
// Result<T>. errno is converted to a Status once, at the syscall boundary
// (Status::from_errno), so callers only ever see a message they can print.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace flare {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // bad user input: exit code 2 at the CLI
  kNotFound,
  kPermissionDenied,
  kCorruptData,
  kUnsupported,
  kIo,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  // Builds an error from an errno value: "<what>: <strerror(err)>".
  static Status from_errno(int err, const std::string& what);

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes context, keeping the code: "reading header: short read".
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(Status status) : status_(std::move(status)) {}

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

#define FLARE_CONCAT_INNER(a, b) a##b
#define FLARE_CONCAT(a, b) FLARE_CONCAT_INNER(a, b)

// Returns early from the enclosing function when `expr` yields an error Status.
#define FLARE_RETURN_IF_ERROR(expr)           \
  do {                                        \
    ::flare::Status _flare_st = (expr);       \
    if (!_flare_st.is_ok()) return _flare_st; \
  } while (0)

// `FLARE_ASSIGN_OR_RETURN(auto x, make_x());`
#define FLARE_ASSIGN_OR_RETURN(decl, expr) \
  FLARE_ASSIGN_OR_RETURN_IMPL(FLARE_CONCAT(_flare_res_, __LINE__), decl, expr)
#define FLARE_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  decl = std::move(tmp).value()

}  // namespace flare
