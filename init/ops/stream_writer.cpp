#include "stream_writer.h"

#include <fcntl.h>
#include <unistd.h>

namespace strata {
namespace {

// How much the writer hands the device at a time.
constexpr uint64_t kWriteback = 4 << 20;

}  // namespace

StreamWriter::StreamWriter(int fd, std::string what, size_t chunk, size_t depth, Sha256* hash)
    : fd_(fd), what_(std::move(what)), hash_(hash) {
  if (off_t pos = ::lseek(fd, 0, SEEK_CUR); pos > 0) base_ = pos;
  for (size_t i = 0; i < depth; i++) {
    storage_.emplace_back(new char[chunk]);
    free_.push_back(storage_.back().get());
    users_.emplace_back(storage_.back().get(), 0);
  }
  thread_ = std::thread([this] { run(); });
  if (hash_) hash_thread_ = std::thread([this] { run_hash(); });
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
    int users = 1;
    if (hash_) {
      hash_queue_.emplace_back(buf, n);
      users = 2;
    }
    for (auto& [b, u] : users_)
      if (b == buf) u = users;
  }
  cv_.notify_all();
}

void StreamWriter::release(char* buf) {
  for (auto& [b, u] : users_)
    if (b == buf && --u == 0) free_.push_back(buf);
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
  if (hash_thread_.joinable()) hash_thread_.join();
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
      release(job.first);
    }
    cv_.notify_all();
    if (failed) return;
    start_writeback(written_);  // only this thread changes written_
  }
}

// Advisory: an error here (a pipe, a filesystem without it) changes nothing,
// the caller's fsync still makes everything durable and reports failures.
void StreamWriter::start_writeback(uint64_t written) {
  if (written - kicked_ < kWriteback) return;
  const off_t start = base_ + static_cast<off_t>(kicked_);
  (void)::sync_file_range(fd_, start, static_cast<off_t>(written - kicked_), SYNC_FILE_RANGE_WRITE);
  if (kicked_ > previous_) {
    // The window before: wait until the device has it, then let its pages go.
    const off_t prev = base_ + static_cast<off_t>(previous_);
    const off_t len = static_cast<off_t>(kicked_ - previous_);
    (void)::sync_file_range(fd_, prev, len,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    (void)::posix_fadvise(fd_, prev, len, POSIX_FADV_DONTNEED);
  }
  previous_ = kicked_;
  kicked_ = written;
}

// The hash needs the bytes in order, so one thread takes them one chunk after another.
void StreamWriter::run_hash() {
  for (;;) {
    std::pair<char*, size_t> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !hash_queue_.empty() || closing_ || error_; });
      if (hash_queue_.empty() || error_) return;  // done, or the update failed anyway
      job = hash_queue_.front();
      hash_queue_.pop_front();
    }
    hash_->update(job.first, job.second);
    {
      std::lock_guard lock(mu_);
      release(job.first);
    }
    cv_.notify_all();
  }
}

}  // namespace strata
