#include "publish/topic.h"

#include "publish/publish_error.h"

namespace retinanet::publish {

std::string expand_topic(const std::string& topic_template, const std::string& source) {
  static const std::string kPlaceholder = "{source}";
  std::string topic;
  for (size_t i = 0; i < topic_template.size();) {
    const char c = topic_template[i];
    if (c == '{') {
      if (topic_template.compare(i, kPlaceholder.size(), kPlaceholder) == 0) {
        topic += source;
        i += kPlaceholder.size();
        continue;
      }
      const size_t close = topic_template.find('}', i);
      throw PublishError("topic \"" + topic_template + "\": " +
                         (close == std::string::npos ? std::string("a '{' without its '}'")
                                                     : "unknown placeholder " + topic_template.substr(i, close - i + 1)) +
                         " (the one placeholder is {source})");
    }
    if (c == '}') throw PublishError("topic \"" + topic_template + "\": a '}' without its '{'");
    topic += c;
    ++i;
  }
  return topic;
}

}  // namespace retinanet::publish
