#include "model/files/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/model_error.h"

namespace retinanet {

namespace {

using nlohmann::json;

// Safety bound on the JSON header (the format's reference implementation uses 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  size_t bytes;
};
constexpr DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2}};

// The file read with pread(2), never mapped: a mapping of a file that another process truncates (a new model
// copied over the old one in place) raises SIGBUS in the reader, which kills the host process; a read just comes up
// short, which becomes a load error.
class ModelFileReader {
 public:
  explicit ModelFileReader(const std::string& path) : path_(path) {
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // O_NONBLOCK: a FIFO never blocks the open
    if (fd_ < 0) throw ModelError(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd_);
      throw ModelError(path + ": not a regular file (a model is a .safetensors file)");
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~ModelFileReader() { close(fd_); }
  ModelFileReader(const ModelFileReader&) = delete;
  ModelFileReader& operator=(const ModelFileReader&) = delete;
  uint64_t size() const { return size_; }

  // Reads exactly `bytes` at `offset` or throws ModelError saying what was being read (`what`).
  void read(void* into, uint64_t bytes, uint64_t offset, const std::string& what) const {
    auto* out = static_cast<uint8_t*>(into);
    while (bytes > 0) {
      const ssize_t got = pread(fd_, out, std::min<uint64_t>(bytes, 1u << 30), static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw ModelError(path_ + ": read failed in " + what + ": " + std::strerror(errno));
      if (got == 0)
        throw ModelError(path_ + ": truncated while loading: " + what + " ends past the end of the file (was it " +
                         "replaced or cut while being read? copy a new model beside the old one and rename it)");
      out += got;
      bytes -= static_cast<uint64_t>(got);
      offset += static_cast<uint64_t>(got);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::string shape_text(torch::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

// One tensor as the header describes it.
struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;  // byte range within the data
};

struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<Entry> entries;  // in the order of their data
};

// The 8-byte length and the JSON header at `bytes` (`header_len` bytes of JSON), checked against a data section of
// `data_len` bytes. Throws `fail(...)`.
Header parse_header(const uint8_t* json_bytes, uint64_t header_len, uint64_t data_len, const std::string& path) {
  auto fail = [&](const std::string& why) { return ModelError(path + ": " + why); };
  json header;
  try {
    header = json::parse(json_bytes, json_bytes + header_len);
  } catch (const json::exception& e) {
    throw fail(std::string("bad header: invalid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw fail("bad header: not a JSON object");

  Header result;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw fail("bad header: __metadata__ is not an object");
      for (auto& [key, value] : info.items()) {
        if (!value.is_string()) throw fail("bad header: __metadata__ value '" + key + "' is not a string");
        result.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      throw fail("bad header: " + where + " lacks dtype, shape or data_offsets");
    const json& dtype = info["dtype"];
    const json& shape = info["shape"];
    const json& offsets = info["data_offsets"];
    if (!dtype.is_string() || !shape.is_array() || !offsets.is_array() || offsets.size() != 2 ||
        !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw fail("bad header: " + where + " has a malformed dtype, shape or data_offsets");
    Entry entry{name, nullptr, {}, offsets[0].get<uint64_t>(), offsets[1].get<uint64_t>()};
    for (const DtypeInfo& d : kDtypes)
      if (dtype.get<std::string>() == d.name) entry.dtype = &d;
    if (!entry.dtype)
      throw fail(where + " has dtype " + dtype.get<std::string>() + "; supported are F32, F16 and BF16");
    uint64_t numel = 1;
    for (const json& dim : shape) {
      if (!dim.is_number_unsigned()) throw fail("bad header: " + where + " has a negative or non-integer dimension");
      const uint64_t d = dim.get<uint64_t>();
      // Also keeps each dimension within int64_t, the type LibTorch takes shapes in.
      if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (d != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / d))
        throw fail("bad header: " + where + " is too large");
      numel *= d;
      entry.shape.push_back(static_cast<int64_t>(d));
    }
    if (entry.begin > entry.end || entry.end > data_len)
      throw fail("truncated: " + where + " needs bytes up to " + std::to_string(entry.end) + " of the data but the file has " +
                 std::to_string(data_len));
    if (entry.end - entry.begin != numel * entry.dtype->bytes)
      throw fail("bad header: " + where + " of shape " + shape_text(entry.shape) + " and dtype " + entry.dtype->name +
                 " needs " + std::to_string(numel * entry.dtype->bytes) + " bytes, its data_offsets give " +
                 std::to_string(entry.end - entry.begin));
    result.entries.push_back(std::move(entry));
  }
  auto& entries = result.entries;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i)
    if (entries[i].begin < entries[i - 1].end)
      throw fail("bad header: tensors '" + entries[i - 1].name + "' and '" + entries[i].name + "' overlap");
  return result;
}

uint64_t checked_header_len(uint64_t header_len, uint64_t size, const std::string& path) {
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    throw ModelError(path + ": truncated or not a safetensors file: header length " + std::to_string(header_len) +
                     " exceeds the file size " + std::to_string(size));
  return header_len;
}

// The tensors of `header`, each filled by `fill(destination, entry)` and converted to float32.
template <typename Fill>
TensorFile read_tensors(Header header, Fill fill) {
  TensorFile result;
  result.metadata = std::move(header.metadata);
  for (const Entry& e : header.entries) {
    torch::Tensor raw = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    if (e.end > e.begin) fill(raw.data_ptr(), e);
    result.tensors.emplace_back(e.name, raw.to(torch::kFloat32));
  }
  return result;
}

}  // namespace

TensorFile read_safetensors(const std::string& path) {
  ModelFileReader file(path);
  if (file.size() < 8) throw ModelError(path + ": truncated: too short for a safetensors header");
  uint8_t length[8];
  file.read(length, 8, 0, "the header length");
  const uint64_t header_len = checked_header_len(read_le64(length), file.size(), path);
  std::vector<uint8_t> text(header_len);
  file.read(text.data(), header_len, 8, "the header");
  const uint64_t data_start = 8 + header_len;
  return read_tensors(parse_header(text.data(), header_len, file.size() - data_start, path),
                      [&](void* into, const Entry& e) {
                        file.read(into, e.end - e.begin, data_start + e.begin, "tensor '" + e.name + "'");
                      });
}

TensorFile read_safetensors(const uint8_t* bytes, size_t size, const std::string& path) {
  if (size < 8) throw ModelError(path + ": truncated: too short for a safetensors header");
  const uint64_t header_len = checked_header_len(read_le64(bytes), size, path);
  const uint8_t* data = bytes + 8 + header_len;
  // Copied out of the bytes (which may be unaligned for the dtype) before converting.
  return read_tensors(parse_header(bytes + 8, header_len, size - 8 - header_len, path),
                      [&](void* into, const Entry& e) { std::memcpy(into, data + e.begin, e.end - e.begin); });
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, torch::Tensor>> sorted;
  for (const auto& [name, t] : tensors)
    sorted.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat32).contiguous());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * 4;
    header[name] = {{"dtype", "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the format asks for 8-byte alignment of the data

  // Write beside the target and rename, so an interrupted write never leaves a truncated checkpoint.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError(path + ": cannot write: " + std::strerror(errno));
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(text.size() >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : sorted)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * 4));
    if (!out.flush()) throw ModelError(path + ": write failed: " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw ModelError(path + ": cannot rename the written file into place: " + std::strerror(errno));
}

}  // namespace retinanet
