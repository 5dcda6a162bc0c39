// method=file: one JSON line per message to a file (created or truncated at start) or to standard output, written
// by the worker thread, so a slow disk or a full pipe to a slow reader never holds up the stream either. A write
// is its own acknowledgement; a failed write (disk full, reader gone) loses the connection until a later write
// succeeds.
#pragma once

#include <cstdio>
#include <string>

#include "publish/publish_config.h"
#include "publish/transport.h"

namespace retinanet::publish {

class FileTransport : public Transport {
 public:
  // Throws PublishError when the file cannot be opened for writing.
  explicit FileTransport(const PublishConfig& config);
  ~FileTransport() override;

  void set_listener(TransportListener* listener) override { listener_ = listener; }
  std::string describe() const override { return "file " + (path_.empty() ? std::string("(standard output)") : path_); }
  bool wants_connect() const override { return false; }
  bool connect(std::string&) override { return true; }
  bool can_send() const override { return out_ != nullptr; }
  bool send(const std::string& payload) override;
  void service(int wake_fd, std::chrono::milliseconds timeout) override;
  size_t unacknowledged() const override { return 0; }
  void close(std::chrono::milliseconds timeout) override;

 private:
  std::string path_;  // empty: standard output
  FILE* out_ = nullptr;
  TransportListener* listener_ = nullptr;
  bool failing_ = false;
  bool announced_ = false;
};

}  // namespace retinanet::publish
