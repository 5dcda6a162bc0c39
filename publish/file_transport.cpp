#include "publish/file_transport.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "publish/publish_error.h"

namespace retinanet::publish {

FileTransport::FileTransport(const PublishConfig& config)
    : path_(config.file_path == "-" || config.file_path == "stdout" ? "" : config.file_path) {
  out_ = path_.empty() ? stdout : std::fopen(path_.c_str(), "w");
  if (!out_) throw PublishError("cannot open \"" + path_ + "\" for writing: " + std::strerror(errno));
}

FileTransport::~FileTransport() { close(std::chrono::milliseconds(0)); }

bool FileTransport::send(const std::string& payload) {
  const bool ok = std::fwrite(payload.data(), 1, payload.size(), out_) == payload.size() &&
                  std::fputc('\n', out_) != EOF && std::fflush(out_) == 0;
  if (!ok) {
    const std::string reason = std::string("write failed: ") + std::strerror(errno);
    std::clearerr(out_);
    if (listener_) {
      if (!failing_) listener_->on_connection_lost(reason);
      listener_->on_failed(1, reason);
    }
    failing_ = true;
    return true;  // a line is not retried (it may be half written)
  }
  if (listener_ && (failing_ || !announced_)) listener_->on_connected();
  failing_ = false;
  announced_ = true;
  if (listener_) listener_->on_delivered(1);
  return true;
}

void FileTransport::service(int wake_fd, std::chrono::milliseconds timeout) {
  pollfd fd{wake_fd, POLLIN, 0};
  ::poll(&fd, 1, static_cast<int>(timeout.count()));
}

void FileTransport::close(std::chrono::milliseconds) {
  if (!out_) return;
  if (out_ == stdout) std::fflush(out_);
  else std::fclose(out_);
  out_ = nullptr;
}

}  // namespace retinanet::publish
