// Writes a stream of chunks to a file descriptor on a thread of its own and,
// given a Sha256, hashes them in order on another, so that reading the next
// chunk, hashing this one and the device's write of the one before all
// overlap: an update then streams at the pace of the slowest of the three
// (the input, hashing or the storage), not of their sum.
//
// write() only fills the page cache; left alone, the kernel writes most of
// an image out in the final fsync, after the stream, so the device's work
// would not overlap the rest. The writer starts the writeback of each
// window it has written (sync_file_range) and waits for the window before
// it, which also bounds the dirty memory on a board to two windows.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "result.h"
#include "sha256.h"

namespace strata {

class StreamWriter {
 public:
  // `what` names the target in errors; `depth` buffers of `chunk` bytes
  // circulate. With `hash`, every submitted byte also goes into it, in order
  // (read it after finish()).
  StreamWriter(int fd, std::string what, size_t chunk, size_t depth = 4, Sha256* hash = nullptr);
  ~StreamWriter();  // waits for the writes queued so far
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // A free buffer of `chunk` bytes; waits for one. nullptr once a write failed.
  char* buffer();
  // Queues `n` bytes of a buffer from buffer().
  void submit(char* buf, size_t n);
  // Waits until at least `bytes` are written (or a write failed).
  void wait_written(uint64_t bytes);
  // Waits for everything queued (written and hashed); the first write error, if any.
  Status finish();

 private:
  void run();
  void run_hash();
  void release(char* buf);                 // one of the buffer's consumers is done with it
  void start_writeback(uint64_t written);  // the writer thread, after each write

  int fd_;
  std::string what_;
  std::vector<std::unique_ptr<char[]>> storage_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<char*> free_;
  std::deque<std::pair<char*, size_t>> queue_;
  std::deque<std::pair<char*, size_t>> hash_queue_;
  std::vector<std::pair<char*, int>> users_;  // per buffer: consumers not done with it yet
  Sha256* hash_;
  uint64_t written_ = 0;
  off_t base_ = 0;         // the fd's offset when the stream began
  uint64_t kicked_ = 0;    // bytes whose writeback was started
  uint64_t previous_ = 0;  // start of the window before the last one kicked
  bool closing_ = false;
  std::optional<Error> error_;
  std::thread thread_;
  std::thread hash_thread_;
};

}  // namespace strata
