// The one exception the publishing machinery throws: a setting that can never work (a bad address, an unknown
// method, a topic the broker refuses, a TLS file that is missing), found at start, before any frame flows.
#pragma once

#include <stdexcept>
#include <string>

namespace retinanet::publish {

class PublishError : public std::runtime_error {
 public:
  explicit PublishError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace retinanet::publish
