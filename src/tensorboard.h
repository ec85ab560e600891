// TensorBoard event files (trainer.tensorboard): scalars written the way TensorFlow's summary
// writer writes them, without TensorFlow: a file `events.out.tfevents.<time>.<host>` of records,
// each `uint64 length, uint32 masked CRC-32C of length, data, uint32 masked CRC-32C of data`
// (little-endian), where data is a serialised `tensorflow.Event` protobuf: wall_time (1, double),
// step (2, int64), file_version (3, "brain.Event:2") in the first record, summary (5) holding
// `Summary.Value`s with tag (1) and simple_value (2, float), or session_log (6) {status (1):
// START}. Private to the trainer.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ddpg {

// TensorFlow's masking of a CRC-32C (crc32c, io.h).
uint32_t masked_crc32c(const void* data, size_t n);

class EventWriter {
 public:
  // Opens a new event file in `dir`. `resumed_at` >= 0: a resumed run's file starts with a
  // SessionLog START at that step, which tells TensorBoard to drop the earlier files' events from
  // that step on (the interrupted process logged them after its last checkpoint).
  EventWriter(const std::string& dir, int64_t resumed_at);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // One event with these scalars at `step`.
  void scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  const std::string& path() const { return path_; }

 private:
  void record(const std::string& event);
  std::string path_;
  int fd_ = -1;
};

}  // namespace ddpg
