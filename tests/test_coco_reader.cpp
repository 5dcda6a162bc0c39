// read_coco refuses ids and sizes that are not integers in range (nlohmann's get<int> truncates 4.9, wraps
// 4294967300 and casts 1e20), naming the field.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "common/model_error.h"
#include "model/training/coco.h"

namespace retinanet {
namespace {

// A valid file with one image, one category and one annotation; `field` of `object` replaced by `value`.
std::string coco_with(const std::string& object, const std::string& field, const std::string& value) {
  std::string image = R"({"id": 7, "file_name": "a.png", "width": 64, "height": 48})";
  std::string category = R"({"id": 1, "name": "square"})";
  std::string ann = R"({"id": 3, "image_id": 7, "category_id": 1, "bbox": [1, 2, 10, 12], "iscrowd": 0})";
  std::string& target = object == "image" ? image : object == "category" ? category : ann;
  const std::string key = "\"" + field + "\": ";
  const size_t at = target.find(key) + key.size();
  const size_t end = target.find_first_of(",}", at);
  target.replace(at, end - at, value);
  return R"({"images": [)" + image + R"(], "categories": [)" + category + R"(], "annotations": [)" + ann + "]}";
}

CocoDataset read(const std::string& text) {
  std::istringstream in(text);
  return read_coco(in, "test.json");
}

TEST(CocoReader, AcceptsTheValidFile) {
  const CocoDataset data = read(coco_with("image", "id", "7"));
  ASSERT_EQ(data.images.size(), 1u);
  EXPECT_EQ(data.images[0].id, 7);
  EXPECT_EQ(data.images[0].width, 64);
  ASSERT_EQ(data.images[0].objects.size(), 1u);
  EXPECT_EQ(data.images[0].objects[0].label, 1);
}

TEST(CocoReader, RefusesIdsAndSizesThatAreNotIntegersInRange) {
  const std::pair<std::string, std::string> fields[] = {
      {"annotation", "category_id"}, {"annotation", "image_id"}, {"annotation", "id"}, {"image", "id"},
      {"image", "width"},           {"image", "height"},        {"category", "id"}};
  for (const auto& [object, field] : fields)
    for (const std::string value : {"4.9", "\"4\"", "1e20", "4294967300", "-1"}) {
      const std::string what = object + "." + field + " = " + value;
      try {
        read(coco_with(object, field, value));
        ADD_FAILURE() << what << " was accepted";
      } catch (const ModelError& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("." + field + " must be an integer"), std::string::npos) << what << ": " << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
      }
    }
}

}  // namespace
}  // namespace retinanet
