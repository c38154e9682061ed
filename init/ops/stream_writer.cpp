#include "stream_writer.h"

#include <unistd.h>

namespace strata {

StreamWriter::StreamWriter(int fd, std::string what, size_t chunk, size_t depth) : fd_(fd), what_(std::move(what)) {
  for (size_t i = 0; i < depth; i++) {
    storage_.emplace_back(new char[chunk]);
    free_.push_back(storage_.back().get());
  }
  thread_ = std::thread([this] { run(); });
}

StreamWriter::~StreamWriter() {
  (void)finish();
}

char* StreamWriter::buffer() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !free_.empty() || error_; });
  if (error_) return nullptr;
  char* b = free_.front();
  free_.pop_front();
  return b;
}

void StreamWriter::submit(char* buf, size_t n) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(buf, n);
  }
  cv_.notify_all();
}

void StreamWriter::wait_written(uint64_t bytes) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return written_ >= bytes || error_; });
}

Status StreamWriter::finish() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (error_) return *error_;
  return {};
}

void StreamWriter::run() {
  for (;;) {
    std::pair<char*, size_t> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and nothing left to write
      job = queue_.front();
      queue_.pop_front();
    }
    const char* p = job.first;
    size_t left = job.second;
    std::optional<Error> failed;
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        failed = errno_error("write " + what_);
        break;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    {
      std::lock_guard lock(mu_);
      if (failed) {
        error_ = failed;
        queue_.clear();  // the rest would land after a hole
      } else {
        written_ += job.second;
      }
      free_.push_back(job.first);
    }
    cv_.notify_all();
    if (failed) return;
  }
}

}  // namespace strata
