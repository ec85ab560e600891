// One writer per folder: an exclusive advisory lock (flock) on DIR/.lock, held while a DirLock
// lives. A run folder has one (`ddpg train`, the sweep's workers), and so has a sweep's output
// folder (`ddpg sweep`: one sweep per folder, its manifest has one writer). The kernel releases
// the lock when the process ends, kill -9 included, so no stale lock survives a crash. The holder
// writes its pid into the file, for the message of the next comer.
#pragma once

#include <string>

namespace ddpg {

class DirLock {
 public:
  explicit DirLock(const std::string& dir);  // throws Error naming the holder's pid
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace ddpg
