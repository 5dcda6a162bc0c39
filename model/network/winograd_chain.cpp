#include "model/network/winograd_chain.h"

#ifdef RETINANET_HAS_DNNL

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>
#include <stdexcept>
#include <tuple>

namespace retinanet {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A 3x3, stride-1, padding-1 convolution with bias as oneDNN made it for one input layout and size.
struct Convolution {
  dnnl::convolution_forward primitive;
  memory::desc src, weights, bias, dst, scratch;  // the layouts it chose
  bool winograd = false;
};

// An empty primitive descriptor (no exception: see common/unwind_resume.cpp) when oneDNN has no implementation of
// `algorithm` for this CPU and layout.
dnnl::convolution_forward::primitive_desc describe(dnnl::algorithm algorithm, const memory::desc& src, int64_t out,
                                                   bool relu) {
  const memory::dims in_dims = src.dims();
  const memory::dim n = in_dims[0], in = in_dims[1], h = in_dims[2], w = in_dims[3];
  dnnl::primitive_attr attr;
  // The caller passes the scratch memory: by default oneDNN gives a primitive a buffer of the thread that made it,
  // which breaks a primitive that runs on other threads (a GStreamer streaming thread is new at every start) and
  // stays alive with the primitive in oneDNN's primitive cache (the lifecycle test grew by about 19 MB per restart).
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, src,
                                       memory::desc({out, in, 3, 3}, f32, tag::any), memory::desc({out}, f32, tag::x),
                                       memory::desc({n, out, h, w}, f32, tag::any), {1, 1}, {1, 1}, {1, 1});
  return {desc, attr, cpu_engine(), /*allow_empty=*/true};
}

// Primitives depend on shapes only, so every chain shares them for the life of the process: a pipeline that
// restarts builds a new Detector, which then need not JIT-compile the same kernels again.
// Winograd where oneDNN has it for this CPU and layout (and the caller allows it), else its direct convolution.
const Convolution& convolution_for(const memory::desc& src, int64_t out, bool relu, bool allow_winograd) {
  static std::mutex mutex;
  // A deque keeps references valid as it grows.
  static std::deque<std::tuple<memory::desc, int64_t, bool, bool, Convolution>> made;
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& [made_src, made_out, made_relu, made_allow, conv] : made)
    if (made_out == out && made_relu == relu && made_allow == allow_winograd && made_src == src) return conv;
  dnnl::convolution_forward::primitive_desc pd;
  if (allow_winograd) pd = describe(dnnl::algorithm::convolution_winograd, src, out, relu);
  const bool winograd = static_cast<bool>(pd);
  if (!winograd) pd = describe(dnnl::algorithm::convolution_direct, src, out, relu);
  if (!pd) throw std::runtime_error("oneDNN has no 3x3 convolution for this layout");
  Convolution conv{dnnl::convolution_forward(pd), pd.src_desc(),        pd.weights_desc(),
                   pd.bias_desc(),                pd.dst_desc(),        pd.scratchpad_desc(), winograd};
  made.emplace_back(src, out, relu, allow_winograd, std::move(conv));
  return std::get<4>(made.back());
}

// Grown to the largest need and kept: the subnets run the same shapes frame after frame, and memory mapped afresh
// for every frame costs a page fault per 4 KiB.
class GrowingBuffer {
 public:
  void* get(size_t bytes) {
    if (bytes > size_) {
      size_ = (bytes + 4095) / 4096 * 4096;
      data_.reset(std::aligned_alloc(4096, size_));
      if (!data_) throw std::bad_alloc();
    }
    return data_.get();
  }

 private:
  std::unique_ptr<void, decltype(&std::free)> data_{nullptr, &std::free};
  size_t size_ = 0;
};

}  // namespace

// The memory of chains that run one after another (a network's two subnets): the Winograd kernels' scratch alone
// is about 90 MB for a 64x88 level of 256 channels, so one per chain and level would cost hundreds of megabytes.
struct WinogradWorkspace {
  std::mutex mutex;
  GrowingBuffer first, ping, pong, last, scratch;
};

std::shared_ptr<WinogradWorkspace> make_winograd_workspace() { return std::make_shared<WinogradWorkspace>(); }

struct WinogradChain::Impl {
  struct LayerPlan {
    dnnl::convolution_forward conv;
    memory weights;  // in the layout this primitive wants
    memory bias;
    memory::desc dst, scratch;
    bool winograd = false;
  };
  // Everything that depends on the input's size, made once per size (a video keeps one size per level). The
  // memory itself is the workspace's.
  struct Plan {
    memory::desc user_src, first_src;  // the input as given, and in the first layer's layout
    dnnl::reorder to_first;
    std::vector<LayerPlan> layers;
    std::vector<memory::desc> part_dst, user_part;  // each output part in its layout, and its slice of the result
    std::vector<dnnl::reorder> to_user;             // from the one to the other
    size_t part_bytes = 0;            // the largest output part
    size_t between_bytes = 0;         // the largest output of a tower layer
    size_t scratch_bytes = 0;
    uint64_t generation = 0;          // of the Winograd weights it was made with
  };
  // N, C, H, W, channels-last input, sets the Winograd layout
  using Shape = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool>;

  // The tower, then the last layer in parts of at most kPartChannels outputs, each a convolution of the tower's
  // output: the Winograd scratch grows with input plus output channels (about 90 MB for the 819-channel class
  // predictor on a 64x88 level in one piece), so parts keep the peak memory below torchvision's.
  static constexpr int64_t kPartChannels = 256;
  std::vector<Layer> layers;
  size_t tower = 0;  // layers before the parts
  std::vector<int64_t> part_offsets;
  // Weights reordered for the direct convolution, per layout (one, in practice).
  std::vector<std::vector<std::pair<memory::desc, memory>>> packed_weights;
  // The Winograd kernels pick their weight layout by the level's size, at 4 times the weights' size (6x6 tiles for
  // 3x3), so each layer keeps one Winograd copy: in the layout of the level that sets it (the frame's largest).
  // Other levels use it when they want the same layout and otherwise run the direct convolution, which costs next
  // to nothing on the small levels; a new frame size re-packs, and `generation` tells older plans to re-plan.
  std::vector<std::pair<memory::desc, memory>> winograd_weights;
  uint64_t generation = 0;
  std::map<Shape, Plan> plans;
  std::shared_ptr<WinogradWorkspace> workspace;  // its mutex guards the plans too

  LayerPlan plan_layer(size_t index, const memory::desc& src, bool sets_layout, memory::desc* chosen_src,
                       memory::desc* chosen_dst) {
    const int64_t out = layers[index].weight.size(0);
    const Convolution* chosen = &convolution_for(src, out, layers[index].relu, true);
    memory weights;
    auto& [wino_layout, wino_memory] = winograd_weights[index];
    if (chosen->winograd && wino_memory && wino_layout == chosen->weights) {
      weights = wino_memory;
    } else if (chosen->winograd && sets_layout) {
      wino_memory = memory();  // free the old layout before making the new one
      wino_memory = reordered(index, chosen->weights);
      wino_layout = chosen->weights;
      weights = wino_memory;
      ++generation;
    } else {
      if (chosen->winograd) chosen = &convolution_for(src, out, layers[index].relu, false);
      weights = packed(index, chosen->weights);
    }
    const Convolution& conv = *chosen;
    LayerPlan plan;
    plan.conv = conv.primitive;
    plan.winograd = conv.winograd;
    plan.dst = conv.dst;
    plan.scratch = conv.scratch;
    plan.weights = weights;
    plan.bias = memory(conv.bias, cpu_engine(), layers[index].bias.data_ptr());
    *chosen_src = conv.src;
    *chosen_dst = conv.dst;
    return plan;
  }

  memory packed(size_t index, const memory::desc& want) {
    for (const auto& [desc, mem] : packed_weights[index])
      if (desc == want) return mem;
    packed_weights[index].emplace_back(want, reordered(index, want));
    return packed_weights[index].back().second;
  }

  memory reordered(size_t index, const memory::desc& want) const {
    const Layer& layer = layers[index];
    memory::desc plain({layer.weight.size(0), layer.weight.size(1), 3, 3}, f32, tag::oihw);
    memory source(plain, cpu_engine(), layer.weight.data_ptr());
    memory target(want, cpu_engine());
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(source, target).execute(stream, source, target);
    stream.wait();
    return target;
  }

  Plan& plan_for(const Shape& shape) {
    auto found = plans.find(shape);
    if (found != plans.end()) {
      if (found->second.generation == generation) return found->second;
      plans.erase(found);  // made with Winograd weights since re-packed
    }
    const auto [n, c, h, w, channels_last, sets_layout] = shape;
    Plan plan;
    plan.user_src = memory::desc({n, c, h, w}, f32, channels_last ? tag::nhwc : tag::nchw);
    memory::desc src({n, c, h, w}, f32, tag::any);
    const memory::desc user_dst({n, part_offsets.back(), h, w}, f32, tag::nhwc);
    memory::desc parts_src;  // the tower's output layout, which every part reads
    for (size_t i = 0; i < layers.size(); ++i) {
      memory::desc chosen_src, chosen_dst;
      plan.layers.push_back(plan_layer(i, i <= tower ? src : parts_src, sets_layout, &chosen_src, &chosen_dst));
      plan.scratch_bytes = std::max(plan.scratch_bytes, plan.layers.back().scratch.get_size());
      if (i == 0) plan.first_src = chosen_src;
      if (i == tower) parts_src = chosen_src;
      if (i < tower) {
        plan.between_bytes = std::max(plan.between_bytes, chosen_dst.get_size());
        src = chosen_dst;  // the next layer reads this layout as it is
      } else {
        const size_t part = i - tower;
        plan.part_dst.push_back(chosen_dst);
        plan.user_part.push_back(user_dst.submemory_desc(
            {n, part_offsets[part + 1] - part_offsets[part], h, w}, {0, part_offsets[part], 0, 0}));
        plan.to_user.emplace_back(dnnl::reorder::primitive_desc(cpu_engine(), chosen_dst, cpu_engine(),
                                                                plan.user_part.back()));
        plan.part_bytes = std::max(plan.part_bytes, chosen_dst.get_size());
      }
    }
    plan.to_first = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), plan.user_src, cpu_engine(),
                                                                 plan.first_src));
    plan.generation = generation;
    return plans.emplace(shape, std::move(plan)).first->second;
  }
};

WinogradChain::WinogradChain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WinogradChain::~WinogradChain() = default;

std::unique_ptr<WinogradChain> WinogradChain::create(std::vector<Layer> layers,
                                                     std::shared_ptr<WinogradWorkspace> workspace) {
  if (layers.empty()) return nullptr;
  int64_t channels = layers[0].weight.size(1);
  for (Layer& layer : layers) {
    if (layer.weight.dim() != 4 || layer.weight.size(1) != channels || layer.weight.size(2) != 3 ||
        layer.weight.size(3) != 3 || layer.weight.scalar_type() != torch::kFloat || !layer.weight.device().is_cpu())
      return nullptr;
    channels = layer.weight.size(0);
    layer.weight = layer.weight.detach().contiguous();  // no copy when it already is
    layer.bias = layer.bias.defined() ? layer.bias.detach().contiguous() : torch::zeros({channels});
  }
  auto impl = std::make_unique<Impl>();
  const Layer last = layers.back();
  layers.pop_back();
  impl->tower = layers.size();
  impl->part_offsets = {0};
  for (int64_t begin = 0; begin < last.weight.size(0); begin += Impl::kPartChannels) {
    const int64_t size = std::min(Impl::kPartChannels, last.weight.size(0) - begin);
    layers.push_back({last.weight.narrow(0, begin, size).contiguous(), last.bias.narrow(0, begin, size).contiguous(),
                      last.relu});
    impl->part_offsets.push_back(begin + size);
  }
  impl->packed_weights.resize(layers.size());
  impl->winograd_weights.resize(layers.size());
  impl->layers = std::move(layers);
  impl->workspace = workspace ? std::move(workspace) : make_winograd_workspace();
  return std::unique_ptr<WinogradChain>(new WinogradChain(std::move(impl)));
}

torch::Tensor WinogradChain::forward(const torch::Tensor& x, bool sets_layout) {
  torch::Tensor input = x.is_mkldnn() ? x.to_dense() : x;
  // Channels-last input (a chain's output, permuted back) is read as it is; anything else as NCHW.
  const bool channels_last = !input.is_contiguous() && input.is_contiguous(at::MemoryFormat::ChannelsLast);
  if (!channels_last) input = input.contiguous();
  const Impl::Shape shape{input.size(0), input.size(1), input.size(2), input.size(3), channels_last, sets_layout};
  // oneDNN runs on OpenMP like ATen; a thread other than the one that set ATen's thread count starts with the
  // OpenMP default (every core) unless told. (Not at::init_num_threads(): it also rebuilds ATen's pthreadpool, whose
  // fresh threads spin, every call; that made the default model six times slower.)
  if (omp_get_max_threads() != at::get_num_threads()) omp_set_num_threads(at::get_num_threads());
  WinogradWorkspace& space = *impl_->workspace;
  std::lock_guard<std::mutex> lock(space.mutex);
  Impl::Plan& plan = impl_->plan_for(shape);
  const int64_t out = impl_->part_offsets.back();
  torch::Tensor result = torch::empty({input.size(0), input.size(2), input.size(3), out}, input.options());

  dnnl::engine& engine = cpu_engine();
  dnnl::stream stream(engine);
  memory user_src(plan.user_src, engine, input.data_ptr());
  memory first(plan.first_src, engine, space.first.get(plan.first_src.get_size()));
  plan.to_first.execute(stream, user_src, first);
  memory scratch(memory::desc({static_cast<memory::dim>(std::max<size_t>(plan.scratch_bytes, 1))},
                              memory::data_type::u8, tag::x),
                 engine, space.scratch.get(std::max<size_t>(plan.scratch_bytes, 1)));
  void* between[2] = {space.ping.get(plan.between_bytes), space.pong.get(plan.between_bytes)};
  void* part_out = space.last.get(plan.part_bytes);
  memory src = first;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const Impl::LayerPlan& layer = plan.layers[i];
    const bool tower = i < impl_->tower;
    memory dst(layer.dst, engine, tower ? between[i % 2] : part_out);
    layer.conv.execute(stream, {{DNNL_ARG_SRC, src},
                                {DNNL_ARG_WEIGHTS, layer.weights},
                                {DNNL_ARG_BIAS, layer.bias},
                                {DNNL_ARG_DST, dst},
                                {DNNL_ARG_SCRATCHPAD, scratch}});
    if (tower) {
      src = dst;
    } else {
      const size_t part = i - impl_->tower;
      memory user_part(plan.user_part[part], engine, result.data_ptr());
      plan.to_user[part].execute(stream, dst, user_part);
    }
  }
  stream.wait();
  return result;
}

int WinogradChain::winograd_layers(int64_t height, int64_t width) {
  std::lock_guard<std::mutex> lock(impl_->workspace->mutex);
  const Impl::Plan& plan = impl_->plan_for({1, impl_->layers[0].weight.size(1), height, width, false, true});
  int count = 0;
  for (const auto& layer : plan.layers) count += layer.winograd;
  return count;
}

}  // namespace retinanet

#else  // no oneDNN of our own: the callers keep ATen's path

namespace retinanet {

struct WinogradWorkspace {};
std::shared_ptr<WinogradWorkspace> make_winograd_workspace() { return std::make_shared<WinogradWorkspace>(); }
struct WinogradChain::Impl {};
WinogradChain::WinogradChain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WinogradChain::~WinogradChain() = default;
std::unique_ptr<WinogradChain> WinogradChain::create(std::vector<Layer>, std::shared_ptr<WinogradWorkspace>) {
  return nullptr;
}
torch::Tensor WinogradChain::forward(const torch::Tensor&, bool) { return {}; }
int WinogradChain::winograd_layers(int64_t, int64_t) { return 0; }

}  // namespace retinanet

#endif
