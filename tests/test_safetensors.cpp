// Reading and writing safetensors, and every refusal with its message.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "common/model_error.h"
#include "model/files/safetensors.h"

namespace retinanet {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "retinanet_" + std::to_string(getpid()) + "_" + name;
}

// A file made byte by byte: 8-byte little-endian header length, header text, data.
std::string write_raw(const std::string& name, const std::string& header, const std::string& data,
                      int64_t declared_len = -1) {
  const std::string path = temp_path(name);
  std::ofstream out(path, std::ios::binary);
  const uint64_t len = declared_len >= 0 ? static_cast<uint64_t>(declared_len) : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
  out << header << data;
  return path;
}

void expect_refused(const std::string& path, const std::string& fragment) {
  try {
    read_safetensors(path);
    FAIL() << "accepted " << path;
  } catch (const ModelError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << "message: " << what << "\nexpected: " << fragment;
  }
}

TEST(Safetensors, RoundTripKeepsValuesShapesAndMetadata) {
  const std::string path = temp_path("roundtrip.safetensors");
  const torch::Tensor a = torch::randn({3, 4, 5});
  const torch::Tensor b = torch::arange(7, torch::kFloat32);
  const torch::Tensor scalar = torch::tensor(2.5f).reshape({});
  write_safetensors(path, {{"b.weight", b}, {"a.weight", a}, {"s", scalar}}, {{"arch", "x"}, {"labels", "[\"a\"]"}});
  const TensorFile file = read_safetensors(path);
  ASSERT_EQ(file.tensors.size(), 3u);
  EXPECT_EQ(file.metadata.at("arch"), "x");
  EXPECT_EQ(file.metadata.at("labels"), "[\"a\"]");
  for (const auto& [name, t] : file.tensors) {
    const torch::Tensor& expected = name == "a.weight" ? a : name == "b.weight" ? b : scalar;
    EXPECT_EQ(t.sizes(), expected.sizes()) << name;
    EXPECT_TRUE(torch::equal(t, expected)) << name;
  }
  std::remove(path.c_str());
}

TEST(Safetensors, ReadsHalfPrecisionAsFloat) {
  const torch::Tensor half = torch::tensor({1.5f, -2.25f, 65504.f}).to(torch::kFloat16);
  const std::string data(static_cast<const char*>(half.data_ptr()), 6);
  const std::string path =
      write_raw("f16.safetensors", R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}})", data);
  const TensorFile file = read_safetensors(path);
  ASSERT_EQ(file.tensors.size(), 1u);
  EXPECT_EQ(file.tensors[0].second.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(file.tensors[0].second, half.to(torch::kFloat32)));
}

TEST(Safetensors, RefusesMissingFile) { expect_refused(temp_path("does_not_exist.safetensors"), "cannot open"); }

TEST(Safetensors, RefusesTooShortFile) {
  const std::string path = temp_path("short.safetensors");
  std::ofstream(path) << "abc";
  expect_refused(path, "truncated");
}

TEST(Safetensors, RefusesHeaderLongerThanFile) {
  expect_refused(write_raw("longheader.safetensors", "{}", "", 1000), "header length 1000 exceeds the file size");
}

TEST(Safetensors, RefusesInvalidJson) {
  expect_refused(write_raw("badjson.safetensors", "{\"a\": [1, 2", ""), "bad header: invalid JSON");
}

TEST(Safetensors, RefusesNonObjectHeader) {
  expect_refused(write_raw("array.safetensors", "[1, 2]", ""), "bad header: not a JSON object");
}

TEST(Safetensors, RefusesTruncatedData) {
  expect_refused(write_raw("truncdata.safetensors", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                           std::string(8, '\0')),
                 "truncated: tensor 'w' needs bytes up to 16 of the data but the file has 8");
}

TEST(Safetensors, RefusesShapeThatDoesNotFitItsBytes) {
  expect_refused(write_raw("shape.safetensors", R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})",
                           std::string(16, '\0')),
                 "tensor 'w' of shape [2, 3] and dtype F32 needs 24 bytes, its data_offsets give 16");
}

TEST(Safetensors, RefusesUnsupportedDtype) {
  expect_refused(write_raw("dtype.safetensors", R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})",
                           std::string(8, '\0')),
                 "tensor 'w' has dtype I64; supported are F32, F16 and BF16");
}

TEST(Safetensors, RefusesMalformedEntry) {
  expect_refused(write_raw("entry.safetensors", R"({"w":{"dtype":"F32","shape":[1]}})", std::string(4, '\0')),
                 "tensor 'w' lacks dtype, shape or data_offsets");
  expect_refused(write_raw("negdim.safetensors", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
                           std::string(4, '\0')),
                 "tensor 'w' has a negative or non-integer dimension");
}

TEST(Safetensors, RefusesOverlappingTensors) {
  expect_refused(write_raw("overlap.safetensors",
                           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           std::string(12, '\0')),
                 "overlap");
}

TEST(Safetensors, RefusesNonStringMetadata) {
  expect_refused(write_raw("meta.safetensors", R"({"__metadata__":{"num_classes":3}})", ""),
                 "__metadata__ value 'num_classes' is not a string");
}

// A model copied over in place while it loads (the file shrinks under the reader): a load error, never SIGBUS. Run
// in a child process, so that a signal is this test's failure and not the end of the test binary.
TEST(Safetensors, FileShrinkingWhileItLoadsIsAnErrorNotASignal) {
  const std::string path = temp_path("shrinking.safetensors");
  write_safetensors(path, {{"a", torch::ones({16, 1024, 1024})}, {"b", torch::ones({4})}}, {});  // 64 MB
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const off_t full = in.tellg();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::atomic<bool> done{false};
    std::thread cutter([&] {
      const int fd = open(path.c_str(), O_WRONLY);
      while (!done) {
        if (ftruncate(fd, 4096) != 0 || ftruncate(fd, full) != 0) _exit(3);
        usleep(2000);  // full most of the time, so that loads get past the header
      }
      close(fd);
    });
    int refused = 0;
    for (int i = 0; i < 40; ++i) {
      try {
        read_safetensors(path);
      } catch (const ModelError& e) {
        const std::string what = e.what();
        if (what.find(path + ": truncated") == std::string::npos) _exit(4);
        ++refused;
      }
    }
    done = true;
    cutter.join();
    _exit(refused > 0 ? 0 : 5);  // 5: the cutter never caught a read in progress
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_FALSE(WIFSIGNALED(status)) << "the reader died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: ftruncate failed, 4: another message, 5: no load was cut";
  std::remove(path.c_str());
}

TEST(Safetensors, WriteToMissingDirectoryFails) {
  EXPECT_THROW(write_safetensors("/nonexistent-dir/x.safetensors", {{"a", torch::ones({1})}}, {}), ModelError);
}

}  // namespace
}  // namespace retinanet
