// libFuzzer target: the COCO annotation reader on arbitrary text. A dataset or a ModelError; every box it keeps
// has a positive size and a known label.
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include "common/model_error.h"
#include "model/training/coco.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const retinanet::CocoDataset set = retinanet::read_coco(in, "fuzz.json");
    for (const auto& image : set.images)
      for (const auto& b : image.objects)
        if (b.label <= 0 || b.label >= static_cast<int>(set.labels.size()) || !(b.x2 > b.x1) || !(b.y2 > b.y1))
          std::abort();
  } catch (const retinanet::ModelError&) {
  }
  return 0;
}
