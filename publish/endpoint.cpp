#include "publish/endpoint.h"

#include <arpa/inet.h>

#include <cctype>

#include "publish/publish_error.h"

namespace retinanet::publish {

namespace {

bool is_hostname(const std::string& host) {
  // RFC 1123: labels of 1-63 letters, digits and hyphens, not starting or ending with a hyphen; 253 in all.
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t end = host.find('.', start);
    if (end == std::string::npos) end = host.size();
    const size_t length = end - start;
    if (length == 0 || length > 63) return false;
    if (host[start] == '-' || host[end - 1] == '-') return false;
    for (size_t i = start; i < end; ++i)
      if (!std::isalnum(static_cast<unsigned char>(host[i])) && host[i] != '-') return false;
    start = end + 1;
  }
  return true;
}

bool all_digits_and_dots(const std::string& s) {
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  return true;
}

Endpoint parse_one(const std::string& item, const std::string& address, int default_port) {
  auto refuse = [&](const std::string& why) -> PublishError {
    return PublishError("address \"" + address + "\": " + why);
  };
  if (item.empty()) throw refuse("an empty entry (expected host:port, several separated by commas)");
  if (item.find("://") != std::string::npos) throw refuse("\"" + item + "\" has a scheme; expected host:port");
  Endpoint e;
  std::string port;
  if (item[0] == '[') {
    const size_t close = item.find(']');
    if (close == std::string::npos) throw refuse("\"" + item + "\": an IPv6 address without its closing ']'");
    e.host = item.substr(1, close - 1);
    in6_addr a6;
    if (inet_pton(AF_INET6, e.host.c_str(), &a6) != 1) throw refuse("\"" + e.host + "\" is not an IPv6 address");
    const std::string rest = item.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') throw refuse("\"" + item + "\": expected ':' and a port after ']'");
    if (!rest.empty()) port = rest.substr(1);
    if (!rest.empty() && port.empty()) throw refuse("\"" + item + "\": an empty port");
  } else {
    const size_t colon = item.find(':');
    if (colon != std::string::npos && item.find(':', colon + 1) != std::string::npos)
      throw refuse("\"" + item + "\": several ':' (an IPv6 address goes in brackets: [::1]:1883)");
    e.host = item.substr(0, colon);
    if (colon != std::string::npos) {
      port = item.substr(colon + 1);
      if (port.empty()) throw refuse("\"" + item + "\": an empty port");
    }
    if (e.host.empty()) throw refuse("\"" + item + "\": no host");
    in_addr a4;
    if (all_digits_and_dots(e.host)) {
      if (inet_pton(AF_INET, e.host.c_str(), &a4) != 1) throw refuse("\"" + e.host + "\" is not an IPv4 address");
    } else if (!is_hostname(e.host)) {
      throw refuse("\"" + e.host + "\" is not a valid host name");
    }
  }
  if (port.empty()) {
    if (default_port <= 0) throw refuse("\"" + item + "\" has no port");
    e.port = default_port;
  } else {
    if (port.size() > 5) throw refuse("port \"" + port + "\" is not a number from 1 to 65535");
    for (char c : port)
      if (!std::isdigit(static_cast<unsigned char>(c))) throw refuse("port \"" + port + "\" is not a number from 1 to 65535");
    e.port = std::stoi(port);
    if (e.port < 1 || e.port > 65535) throw refuse("port \"" + port + "\" is not a number from 1 to 65535");
  }
  return e;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

}  // namespace

std::string Endpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::vector<Endpoint> parse_endpoints(const std::string& address, int default_port) {
  if (trim(address).empty()) throw PublishError("no address given (expected host:port)");
  std::vector<Endpoint> endpoints;
  size_t start = 0;
  while (true) {
    const size_t comma = address.find(',', start);
    const std::string item = trim(address.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    endpoints.push_back(parse_one(item, address, default_port));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return endpoints;
}

std::string join_endpoints(const std::vector<Endpoint>& endpoints) {
  std::string joined;
  for (const Endpoint& e : endpoints) joined += (joined.empty() ? "" : ",") + e.to_string();
  return joined;
}

}  // namespace retinanet::publish
