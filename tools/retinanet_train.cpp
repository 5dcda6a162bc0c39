// retinanet-train: trains a RetinaNet with focal loss on the synthetic shapes or a COCO-format set, prints
// torchvision-comparable losses (--loss-only), or writes a synthetic COCO set (--write-coco).
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "model/evaluation/coco_eval.h"
#include "model/evaluation/detect_set.h"
#include "model/files/safetensors.h"
#include "model/inference/detector.h"
#include "model/training/class_set.h"
#include "model/training/coco.h"
#include "common/model_error.h"
#include "model/network/arch.h"
#include "model/network/model_loader.h"
#include "model/training/synthetic_scene.h"
#include "model/training/trainer.h"
#include "tools/cli_args.h"
#include "model/training/train_data.h"

namespace {

using namespace retinanet;

const char* kUsage =
    "usage: retinanet-train [data] [model] [schedule] --output FILE\n"
    "  data:     --synthetic (default) | --coco ANN.json --image-dir DIR\n"
    "  model:    --arch NAME (a new model; default retinanet_tiny_fpn) | --weights FILE (start from a model file)\n"
    "            | --resume CHECKPOINT (continue a run, optimiser and backbone settings included)\n"
    "            --min-size N --max-size N (new models)\n"
    "  backbone, as torchvision's detection models (starting from --weights: fine-tuning):\n"
    "            --trainable-backbone-layers N  0-5 of layer4, layer3, layer2, layer1, conv1 train (5 adds bn1);\n"
    "                                           default 3 with --weights, 5 (always) for a new model\n"
    "            --train-bn                     with --weights: batch norm trains (batch statistics) instead of\n"
    "                                           being frozen as FrozenBatchNorm2d; a new model's always trains\n"
    "  classes:  with --weights, data whose categories differ from the model's labels gets a new class predictor\n"
    "            (cls_logits, initialised as torchvision's), every other tensor kept; the output carries the\n"
    "            data's labels. --resume needs the checkpoint's classes.\n"
    "  schedule: --iterations N (20000) --batch N (4) --optimizer adamw|sgd (adamw; sgd: momentum 0.9)\n"
    "            --lr F (1e-3) --warmup N (300: linear from lr/1000) then cosine decay to lr/100 at --iterations\n"
    "            --weight-decay F (1e-4) --grad-clip F (10: max global gradient norm; 0 disables)\n"
    "            --checkpoint-every N (500) --time-limit MINUTES --stop-after ITERATION --seed N (1)\n"
    "            --threads N (all cores) --workers N (1: data-preparing threads)\n"
    "  validation: --val-coco ANN.json --val-image-dir DIR --val-every N (500) [--val-score-threshold F]\n"
    "            every N iterations and at the end, the current weights scored as retinanet-eval scores them\n"
    "            (COCO bbox AP; score threshold: the model's unless given); one line with AP and AP50; the best\n"
    "            by AP is kept as NAME.best.safetensors for --output NAME.safetensors (a model file; val_AP in\n"
    "            its metadata)\n"
    "  augmentation (COCO data; the synthetic scenes are new each time): horizontal flip (p 0.5); scale jitter:\n"
    "            the short side uniform in [F * min_size, min_size], the long side still capped at max_size\n"
    "            (--scale-jitter F, default 0.8; 1: none); torchvision's RandomPhotometricDistort: brightness\n"
    "            0.875-1.125, contrast 0.5-1.5, saturation 0.5-1.5, hue +-0.05, each with p 0.5 (no channel\n"
    "            swap); the same per --seed and sample. --no-augment turns all of it off\n"
    "Other modes:\n"
    "  retinanet-train --weights W --coco ANN.json --image-dir DIR --loss-only [--train-bn]\n"
    "      one JSON line per image: {\"image\", \"classification\", \"bbox_regression\"}, no update, no augmentation;\n"
    "      batch norm frozen unless --train-bn, as in training\n"
    "  retinanet-train --write-coco DIR --count N [--seed N] [--width W --height H] [--min-objects N]\n"
    "                  [--max-objects N]\n"
    "      writes N synthetic scenes as PNG files and DIR/annotations.json\n";

struct Args {
  bool synthetic = false, loss_only = false, train_bn = false, no_augment = false;
  int trainable_layers = -1;  // -1: the start's default (3 from --weights, 5 from scratch)
  std::string val_coco, val_image_dir;
  int val_every = 500;
  float val_score_threshold = -1;
  std::string coco, image_dir, arch = "retinanet_tiny_fpn", weights, resume, output, write_coco;
  int min_size = 0, max_size = 0, iterations = 20000, batch = 4, checkpoint_every = 500, seed = 1, threads = 0;
  int stop_after = 0;  // stop (with a checkpoint) after this iteration, keeping --iterations' schedule
  int workers = 1, count = 100, width = 640, height = 480, warmup = 300, min_objects = 1, max_objects = 10;
  float lr = 1e-3f, weight_decay = 1e-4f, time_limit = 0, grad_clip = 10, scale_jitter = 0.8f;
  std::string optimizer = "adamw";
};

// A new model's settings: its architecture's defaults (model/network/arch.cpp), the data's labels, the sizes given.
ModelConfig new_model_config(const Args& a, const std::vector<std::string>& labels) {
  ModelConfig c = default_config(a.arch);
  c.labels = labels;
  c.num_classes = static_cast<int>(labels.size());
  if (a.min_size > 0) c.min_size = a.min_size;
  if (a.max_size > 0) c.max_size = a.max_size;
  return c;
}

int write_coco_set(const Args& a) {
  std::filesystem::create_directories(a.write_coco);
  SceneOptions options;
  options.width = a.width;
  options.height = a.height;
  options.min_objects = a.min_objects;
  options.max_objects = a.max_objects;
  SceneGenerator generator(options);
  CocoDataset data;
  data.labels = shape_label_names();
  for (int i = 0; i < a.count; ++i) {
    Scene scene = generator.generate(static_cast<uint64_t>(a.seed) * 1000003ull + i);
    CocoImage img;
    img.id = i + 1;
    char name[32];
    std::snprintf(name, sizeof name, "%06d.png", i);
    img.file_name = name;
    img.width = scene.bgr.cols;
    img.height = scene.bgr.rows;
    img.objects = scene.objects;
    if (!cv::imwrite(a.write_coco + "/" + name, scene.bgr)) throw ModelError("cannot write " + a.write_coco + "/" + name);
    data.images.push_back(img);
  }
  write_coco(a.write_coco + "/annotations.json", data);
  return 0;
}

int loss_only(const Args& a) {
  RetinaNet net = load_model(a.weights).net;
  const CocoDataset data = read_coco(a.coco);
  TrainOptions options;
  options.frozen_batch_norm = !a.train_bn;  // a model file: torchvision's fine-tuning setup
  Trainer trainer(net, options);
  for (const CocoImage& image : data.images) {
    const std::string path = a.image_dir + "/" + image.file_name;
    cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (bgr.empty()) throw ModelError("cannot read image '" + path + "'");
    const StepLosses l = trainer.losses(collate({make_train_sample(bgr, image.objects, net->config())}));
    std::cout << nlohmann::json{{"image", image.file_name},
                                {"classification", l.classification},
                                {"bbox_regression", l.bbox_regression}}
                     .dump()
              << '\n';
  }
  return 0;
}

std::string duration_text(double seconds) {
  const int s = static_cast<int>(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

// Validation during training: the current weights written as a model file and scored by the code retinanet-eval
// runs; the best by AP kept as NAME.best.safetensors (its AP in the metadata, so that a resumed run keeps it).
class Validator {
 public:
  Validator(const Args& a, const ModelConfig& config)
      : truth_(read_coco(a.val_coco)), image_dir_(a.val_image_dir), output_(a.output),
        score_threshold_(a.val_score_threshold) {
    if (truth_.images.empty()) throw ModelError(a.val_coco + ": no images");
    if (!same_class_set(config, truth_.labels))
      throw ModelError("--val-coco " + a.val_coco + ": its categories (" + label_list_text(truth_.labels) +
                       ") are not the model's (" + label_list_text(config.labels) + ")");
    if (std::filesystem::exists(best_path())) {
      const auto metadata = read_safetensors(best_path()).metadata;
      if (auto it = metadata.find("val_AP"); it != metadata.end()) best_ap_ = std::stod(it->second);
      if (auto it = metadata.find("iteration"); it != metadata.end()) best_iteration_ = std::stoi(it->second);
    }
  }

  // tuned.safetensors -> tuned.best.safetensors (a name without the extension gets it).
  std::string best_path() const {
    const std::string ext = ".safetensors";
    const bool has_ext =
        output_.size() > ext.size() && output_.compare(output_.size() - ext.size(), ext.size(), ext) == 0;
    return (has_ext ? output_.substr(0, output_.size() - ext.size()) : output_) + ".best" + ext;
  }

  void run(const Trainer& trainer, int iteration) {
    if (iteration == last_) return;
    last_ = iteration;
    const std::string candidate = output_ + ".val.safetensors";
    trainer.save_model(candidate, iteration);
    DetectorOptions options;
    options.weights = candidate;
    options.device = "cpu";  // where the training runs
    options.threads = torch::get_num_threads();
    options.score_threshold = score_threshold_;
    double ap = 0, ap50 = 0;
    {
      Detector detector(options);
      const CocoMetrics m = evaluate_coco(truth_, detect_coco_set(detector, image_dir_, truth_));
      ap = m.stats[0];
      ap50 = m.stats[1];
    }
    std::filesystem::remove(candidate);
    const bool best = ap > best_ap_;
    if (best) {
      char text[32];
      std::snprintf(text, sizeof text, "%.9g", ap);
      trainer.save_model(best_path(), iteration, {{"val_AP", text}});
      best_ap_ = ap;
      best_iteration_ = iteration;
    }
    std::fprintf(stderr, "val iter %d  AP %.6f  AP50 %.6f  best AP %.6f at iter %d%s\n", iteration, ap, ap50,
                 best_ap_, best_iteration_, best ? ("  (new best: wrote " + best_path() + ")").c_str() : "");
  }

 private:
  CocoDataset truth_;
  std::string image_dir_, output_;
  float score_threshold_;
  double best_ap_ = -2;  // below COCO's -1 (nothing measurable): the first evaluation is the best so far
  int best_iteration_ = 0, last_ = -1;
};

int train(const Args& a) {
  if (a.output.empty()) throw ModelError("--output FILE is required for training");
  CocoDataset coco;
  std::vector<std::string> labels = shape_label_names();
  if (!a.coco.empty()) {
    coco = read_coco(a.coco);
    if (coco.images.empty()) throw ModelError(a.coco + ": no images");
    labels = coco.labels;
  }
  TrainOptions options;
  RetinaNet net{nullptr};
  if (!a.resume.empty()) {
    net = load_model(a.resume).net;
    if (!same_class_set(net->config(), labels))
      throw ModelError("--resume " + a.resume + ": the checkpoint has " + std::to_string(net->config().num_classes) +
                       " classes (" + label_list_text(net->config().labels) + "), the data " +
                       std::to_string(labels.size()) + " (" + label_list_text(labels) +
                       "); start a run on new classes with --weights");
    const BackboneTraining recorded = read_backbone_training(a.resume);
    if (a.train_bn && recorded.frozen_batch_norm)
      throw ModelError("--train-bn: the run being resumed has frozen batch norm");
    if (a.trainable_layers >= 0 && a.trainable_layers != recorded.trainable_backbone_layers)
      throw ModelError("--trainable-backbone-layers " + std::to_string(a.trainable_layers) +
                       ": the run being resumed trains " + std::to_string(recorded.trainable_backbone_layers));
    options.frozen_batch_norm = recorded.frozen_batch_norm;
    options.trainable_backbone_layers = recorded.trainable_backbone_layers;
  } else if (!a.weights.empty()) {
    net = load_model(a.weights).net;
    if (!same_class_set(net->config(), labels)) {
      std::fprintf(stderr,
                   "retinanet-train: new class set: the data's %zu classes (%s) replace the model's %d (%s); the "
                   "class predictor starts anew, every other tensor is kept\n",
                   labels.size(), label_list_text(labels).c_str(), net->config().num_classes,
                   label_list_text(net->config().labels).c_str());
      net = with_class_set(net, labels);
    }
    options.frozen_batch_norm = !a.train_bn;
    options.trainable_backbone_layers = a.trainable_layers >= 0 ? a.trainable_layers : 3;
  } else {
    net = RetinaNet(new_model_config(a, labels));
    // As torchvision without pretrained weights: the whole backbone trains, batch norm included.
    if (a.trainable_layers >= 0 && a.trainable_layers != 5)
      std::fprintf(stderr, "retinanet-train: warning: --trainable-backbone-layers applies to --weights only; a new "
                           "model trains all 5\n");
  }
  options.optimizer = a.optimizer;
  options.lr = a.lr;
  options.weight_decay = a.weight_decay;
  options.warmup = a.warmup;
  options.iterations = a.iterations;
  options.grad_clip = a.grad_clip;
  if (a.iterations < a.warmup)
    std::fprintf(stderr, "retinanet-train: warning: --iterations %d is shorter than the warm-up (%d): the learning "
                         "rate never reaches --lr %g\n", a.iterations, a.warmup, a.lr);
  Trainer trainer(net, options);
  const int start = a.resume.empty() ? 0 : trainer.resume(a.resume);

  AugmentOptions augment;
  augment.enabled = !a.no_augment;
  augment.min_scale = a.scale_jitter;
  SampleSource source = a.coco.empty() ? synthetic_source(SceneGenerator(), net->config(), a.seed)
                                       : coco_source(coco, a.image_dir, net->config(), a.seed, augment);
  Prefetcher data(source, static_cast<uint64_t>(start) * a.batch, a.workers, 4 * a.batch);
  std::unique_ptr<Validator> validator = a.val_coco.empty() ? nullptr : std::make_unique<Validator>(a, net->config());

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  double cls_avg = 0, box_avg = 0;
  int it = start;
  for (; it < a.iterations && !(a.stop_after > 0 && it >= a.stop_after); ++it) {
    std::vector<TrainSample> samples;
    for (int b = 0; b < a.batch; ++b) samples.push_back(data.next());
    const StepLosses l = trainer.step(collate(samples), it);
    if (!std::isfinite(l.classification) || !std::isfinite(l.bbox_regression))
      throw ModelError("the loss diverged at iteration " + std::to_string(it + 1) + "; lower --lr");
    const double k = it == start ? 1.0 : 0.05;  // running means for a readable progress line
    cls_avg += k * (l.classification - cls_avg);
    box_avg += k * (l.bbox_regression - box_avg);
    const int done = it + 1 - start;
    if (done % 10 == 0 || it + 1 == a.iterations) {
      const double t = elapsed();
      char warmup[48] = "";
      if (it < a.warmup) std::snprintf(warmup, sizeof warmup, " (warm-up %d/%d)", it + 1, a.warmup);
      std::fprintf(stderr, "iter %d/%d  cls %.4f  box %.4f  lr %.2e%s  %.1f img/s  elapsed %s  left %s\n", it + 1,
                   a.iterations, cls_avg, box_avg, trainer.learning_rate(it), warmup, done * a.batch / t,
                   duration_text(t).c_str(), duration_text(t / done * (a.iterations - it - 1)).c_str());
    }
    if ((it + 1) % a.checkpoint_every == 0) trainer.save(a.output, it + 1);
    if (validator && (it + 1) % a.val_every == 0) validator->run(trainer, it + 1);
    if (a.time_limit > 0 && elapsed() > a.time_limit * 60) {
      ++it;
      std::fprintf(stderr, "time limit reached after iteration %d; resume with --resume %s\n", it, a.output.c_str());
      break;
    }
  }
  trainer.save(a.output, it);
  if (validator) validator->run(trainer, it);
  std::fprintf(stderr, "wrote %s (iteration %d, %s)\n", a.output.c_str(), it, duration_text(elapsed()).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  std::vector<std::string> rest;
  retinanet::cli::ArgParser args("retinanet-train", kUsage);
  args.add_switch("--synthetic", &a.synthetic);
  args.add_switch("--loss-only", &a.loss_only);
  args.add_switch("--train-bn", &a.train_bn);
  args.add_switch("--no-augment", &a.no_augment);
  args.add_string("--val-coco", &a.val_coco);
  args.add_string("--val-image-dir", &a.val_image_dir);
  args.add_int("--val-every", &a.val_every, 1);
  args.add_float("--val-score-threshold", &a.val_score_threshold, 0, 1);
  args.add_float("--scale-jitter", &a.scale_jitter, 0.1f, 1);
  args.add_int("--trainable-backbone-layers", &a.trainable_layers, 0, 5);
  args.add_string("--coco", &a.coco);
  args.add_string("--image-dir", &a.image_dir);
  args.add_string("--arch", &a.arch);
  args.add_string("--weights", &a.weights);
  args.add_string("--resume", &a.resume);
  args.add_string("--output", &a.output);
  args.add_string("--write-coco", &a.write_coco);
  args.add_string("--optimizer", &a.optimizer);
  args.add_int("--min-size", &a.min_size, 1);
  args.add_int("--max-size", &a.max_size, 1);
  args.add_int("--iterations", &a.iterations, 1);
  args.add_int("--batch", &a.batch, 1, 256);
  args.add_int("--checkpoint-every", &a.checkpoint_every, 1);
  args.add_int("--seed", &a.seed, 0);
  args.add_int("--threads", &a.threads, 1);
  args.add_int("--workers", &a.workers, 1, 64);
  args.add_int("--count", &a.count, 1);
  args.add_int("--width", &a.width, 32);
  args.add_int("--height", &a.height, 32);
  args.add_int("--warmup", &a.warmup, 0);
  args.add_int("--min-objects", &a.min_objects, 0, 100);
  args.add_int("--max-objects", &a.max_objects, 0, 100);
  args.add_float("--lr", &a.lr, 0, 10);
  args.add_float("--weight-decay", &a.weight_decay, 0, 1);
  args.add_float("--grad-clip", &a.grad_clip, 0);
  args.add_float("--time-limit", &a.time_limit, 0);
  args.add_int("--stop-after", &a.stop_after, 0);
  if (!args.parse(argc, argv, rest)) return 2;
  if (!rest.empty()) return args.fail("unexpected argument '" + rest[0] + "'");
  if (!a.coco.empty() && a.image_dir.empty()) return args.fail("--coco needs --image-dir");
  if (a.synthetic && !a.coco.empty()) return args.fail("--synthetic and --coco exclude each other");
  if (!a.val_coco.empty() && a.val_image_dir.empty()) return args.fail("--val-coco needs --val-image-dir");
  if (!a.weights.empty() && !a.resume.empty()) return args.fail("--weights and --resume exclude each other");
  try {
    torch::set_num_threads(a.threads > 0 ? a.threads : static_cast<int>(std::thread::hardware_concurrency()));
    torch::manual_seed(a.seed);
    if (!a.write_coco.empty()) return write_coco_set(a);
    if (a.loss_only) {
      if (a.weights.empty() || a.coco.empty()) return args.fail("--loss-only needs --weights and --coco");
      return loss_only(a);
    }
    return train(a);
  } catch (const std::exception& e) {
    return args.fail(e.what());
  }
}
