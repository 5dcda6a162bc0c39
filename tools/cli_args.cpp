#include "tools/cli_args.h"

#include <cstdlib>
#include <iostream>

namespace retinanet::cli {

namespace {

template <typename T>
bool parse_number(const std::string& text, T& out) {
  char* end = nullptr;
  errno = 0;
  if constexpr (std::is_same_v<T, int>) {
    const long v = std::strtol(text.c_str(), &end, 10);
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) return false;
    out = static_cast<int>(v);
  } else {
    out = std::strtof(text.c_str(), &end);
  }
  return !text.empty() && end && *end == '\0' && errno == 0;
}

template <typename T>
std::function<bool(const std::string&, std::string&)> number_setter(T* target, T min, T max) {
  return [=](const std::string& text, std::string& why) {
    T v{};
    if (!parse_number(text, v)) {
      why = "is not a number";
      return false;
    }
    if (!(v >= min && v <= max)) {
      why = "is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
      return false;
    }
    *target = v;
    return true;
  };
}

}  // namespace

void ArgParser::add_string(const std::string& flag, std::string* target) {
  flags_[flag] = {true, [target](const std::string& text, std::string&) {
                    *target = text;
                    return true;
                  }};
}

void ArgParser::add_int(const std::string& flag, int* target, int min, int max) {
  flags_[flag] = {true, number_setter(target, min, max)};
}

void ArgParser::add_float(const std::string& flag, float* target, float min, float max) {
  flags_[flag] = {true, number_setter(target, min, max)};
}

void ArgParser::add_switch(const std::string& flag, bool* target) {
  flags_[flag] = {false, [target](const std::string&, std::string&) {
                    *target = true;
                    return true;
                  }};
}

bool ArgParser::parse(int argc, char** argv, std::vector<std::string>& positional) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage_;
      std::exit(0);
    }
    if (arg == "--") {
      for (++i; i < argc; ++i) positional.emplace_back(argv[i]);
      break;
    }
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(arg);
    if (it == flags_.end()) {
      fail("unknown option '" + arg + "' (see --help)");
      return false;
    }
    if (it->second.takes_value && !has_value) {
      if (i + 1 >= argc) {
        fail("option '" + arg + "' needs a value");
        return false;
      }
      value = argv[++i];
    } else if (!it->second.takes_value && has_value) {
      fail("option '" + arg + "' takes no value");
      return false;
    }
    std::string why;
    if (!it->second.set(value, why)) {
      fail("option '" + arg + "': '" + value + "' " + why);
      return false;
    }
  }
  return true;
}

int ArgParser::fail(const std::string& message) const {
  std::cerr << program_ << ": " << message << '\n';
  return 1;
}

}  // namespace retinanet::cli
