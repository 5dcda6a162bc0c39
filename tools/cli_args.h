// A small flag parser for the command-line tools: `--name value` or `--name=value`, typed and range-checked,
// errors as one line on stderr.
#pragma once

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace retinanet::cli {

class ArgParser {
 public:
  ArgParser(std::string program, std::string usage) : program_(std::move(program)), usage_(std::move(usage)) {}

  void add_string(const std::string& flag, std::string* target);
  void add_int(const std::string& flag, int* target, int min = std::numeric_limits<int>::min(),
               int max = std::numeric_limits<int>::max());
  void add_float(const std::string& flag, float* target, float min = -std::numeric_limits<float>::infinity(),
                 float max = std::numeric_limits<float>::infinity());
  void add_switch(const std::string& flag, bool* target);

  // Fills the targets and `positional`; false (after printing one line) on a bad command line.
  // `--help` prints the usage and exits 0.
  bool parse(int argc, char** argv, std::vector<std::string>& positional);
  // Prints "<program>: <message>" on stderr and returns the exit status for failures.
  int fail(const std::string& message) const;

 private:
  struct Flag {
    bool takes_value;
    std::function<bool(const std::string&, std::string&)> set;  // false + reason on a bad value
  };
  std::string program_, usage_;
  std::map<std::string, Flag> flags_;
};

}  // namespace retinanet::cli
