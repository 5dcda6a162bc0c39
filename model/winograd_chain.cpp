#include "model/winograd_chain.h"

#ifdef RETINANET_HAS_DNNL

#include <ATen/Parallel.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
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
  return {desc, attr, cpu_engine()};
}

// Primitives depend on shapes only, so every chain shares them for the life of the process: a pipeline that
// restarts builds a new Detector, which then need not JIT-compile the same kernels again.
const Convolution& convolution_for(const memory::desc& src, int64_t out, bool relu) {
  static std::mutex mutex;
  static std::deque<std::tuple<memory::desc, int64_t, bool, Convolution>> made;  // a deque keeps references valid
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& [made_src, made_out, made_relu, conv] : made)
    if (made_out == out && made_relu == relu && made_src == src) return conv;
  // Winograd where oneDNN has it for this CPU and layout, else its direct convolution.
  dnnl::convolution_forward::primitive_desc pd;
  bool winograd = true;
  try {
    pd = describe(dnnl::algorithm::convolution_winograd, src, out, relu);
  } catch (const dnnl::error&) {
    winograd = false;
    pd = describe(dnnl::algorithm::convolution_direct, src, out, relu);
  }
  Convolution conv{dnnl::convolution_forward(pd), pd.src_desc(),        pd.weights_desc(),
                   pd.bias_desc(),                pd.dst_desc(),        pd.scratchpad_desc(), winograd};
  made.emplace_back(src, out, relu, std::move(conv));
  return std::get<3>(made.back());
}

}  // namespace

struct WinogradChain::Impl {
  struct LayerPlan {
    dnnl::convolution_forward conv;
    memory weights;  // in the layout this primitive wants
    memory bias;
    memory::desc scratch;
    bool winograd = false;
  };
  // Everything that depends on the input's size, made once per size (a video keeps one size per level).
  struct Plan {
    memory::desc user_src;
    memory::desc first_src;  // the first layer's input layout; reordered into from user_src
    memory first_src_mem;
    std::vector<LayerPlan> layers;
    std::vector<memory> outputs;  // each layer's output but the last
    memory::desc last_dst;
    memory::desc user_dst;  // channels-last
    memory last_dst_mem;    // only when the last layer cannot write channels-last itself
    memory scratch;         // big enough for every layer's
  };
  using Shape = std::tuple<int64_t, int64_t, int64_t, int64_t>;

  std::vector<Layer> layers;
  // Weights reordered for a primitive, shared by every plan whose primitive wants the same layout.
  std::vector<std::vector<std::pair<memory::desc, memory>>> packed_weights;
  std::map<Shape, Plan> plans;
  std::mutex mutex;

  LayerPlan plan_layer(size_t index, const memory::desc& src, memory::desc* chosen_src, memory::desc* chosen_dst) {
    const Convolution& conv = convolution_for(src, layers[index].weight.size(0), layers[index].relu);
    LayerPlan plan;
    plan.conv = conv.primitive;
    plan.winograd = conv.winograd;
    plan.scratch = conv.scratch;
    plan.weights = packed(index, conv.weights);
    plan.bias = memory(conv.bias, cpu_engine(), layers[index].bias.data_ptr());
    *chosen_src = conv.src;
    *chosen_dst = conv.dst;
    return plan;
  }

  memory packed(size_t index, const memory::desc& want) {
    for (const auto& [desc, mem] : packed_weights[index])
      if (desc == want) return mem;
    const Layer& layer = layers[index];
    memory::desc plain({layer.weight.size(0), layer.weight.size(1), 3, 3}, f32, tag::oihw);
    memory source(plain, cpu_engine(), layer.weight.data_ptr());
    memory target(want, cpu_engine());
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(source, target).execute(stream, source, target);
    stream.wait();
    packed_weights[index].emplace_back(want, target);
    return target;
  }

  Plan& plan_for(const Shape& shape) {
    auto found = plans.find(shape);
    if (found != plans.end()) return found->second;
    const auto [n, c, h, w] = shape;
    Plan plan;
    plan.user_src = memory::desc({n, c, h, w}, f32, tag::nchw);
    memory::desc src({n, c, h, w}, f32, tag::any);
    for (size_t i = 0; i < layers.size(); ++i) {
      const int64_t out = layers[i].weight.size(0);
      const bool last = i + 1 == layers.size();
      memory::desc chosen_src, chosen_dst;
      plan.layers.push_back(plan_layer(i, src, &chosen_src, &chosen_dst));
      if (i == 0) {
        plan.first_src = chosen_src;
        plan.first_src_mem = memory(chosen_src, cpu_engine());
      }
      if (last) {
        plan.last_dst = chosen_dst;
        plan.user_dst = memory::desc({n, out, h, w}, f32, tag::nhwc);
        if (!(plan.last_dst == plan.user_dst)) plan.last_dst_mem = memory(plan.last_dst, cpu_engine());
      } else {
        plan.outputs.emplace_back(chosen_dst, cpu_engine());
        src = chosen_dst;  // the next layer reads this layout as it is
      }
    }
    size_t scratch_bytes = 1;  // oneDNN takes no empty memory
    for (const LayerPlan& layer : plan.layers) scratch_bytes = std::max(scratch_bytes, layer.scratch.get_size());
    plan.scratch = memory(memory::desc({static_cast<memory::dim>(scratch_bytes)}, memory::data_type::u8, tag::x),
                          cpu_engine());
    return plans.emplace(shape, std::move(plan)).first->second;
  }
};

WinogradChain::WinogradChain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WinogradChain::~WinogradChain() = default;

std::unique_ptr<WinogradChain> WinogradChain::create(std::vector<Layer> layers) {
  if (layers.empty()) return nullptr;
  int64_t channels = layers[0].weight.size(1);
  for (Layer& layer : layers) {
    if (layer.weight.dim() != 4 || layer.weight.size(1) != channels || layer.weight.size(2) != 3 ||
        layer.weight.size(3) != 3 || layer.weight.scalar_type() != torch::kFloat || !layer.weight.device().is_cpu())
      return nullptr;
    channels = layer.weight.size(0);
    layer.weight = layer.weight.detach().contiguous();
    layer.bias = layer.bias.defined() ? layer.bias.detach().contiguous() : torch::zeros({channels});
  }
  auto impl = std::make_unique<Impl>();
  impl->packed_weights.resize(layers.size());
  impl->layers = std::move(layers);
  return std::unique_ptr<WinogradChain>(new WinogradChain(std::move(impl)));
}

torch::Tensor WinogradChain::forward(const torch::Tensor& x) {
  torch::Tensor input = (x.is_mkldnn() ? x.to_dense() : x).contiguous();
  const Impl::Shape shape{input.size(0), input.size(1), input.size(2), input.size(3)};
  // oneDNN runs on OpenMP like ATen; a thread other than the one that set ATen's thread count starts with the
  // OpenMP default (every core) unless told.
  at::init_num_threads();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Impl::Plan& plan = impl_->plan_for(shape);
  const int64_t out = impl_->layers.back().weight.size(0);
  torch::Tensor result = torch::empty({input.size(0), input.size(2), input.size(3), out}, input.options());

  dnnl::engine& engine = cpu_engine();
  dnnl::stream stream(engine);
  memory user_src(plan.user_src, engine, input.data_ptr());
  dnnl::reorder(user_src, plan.first_src_mem).execute(stream, user_src, plan.first_src_mem);
  memory user_dst(plan.user_dst, engine, result.data_ptr());
  memory last_out = plan.last_dst_mem ? plan.last_dst_mem : user_dst;
  memory src = plan.first_src_mem;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const Impl::LayerPlan& layer = plan.layers[i];
    memory dst = i + 1 < plan.layers.size() ? plan.outputs[i] : last_out;
    layer.conv.execute(stream, {{DNNL_ARG_SRC, src},
                                {DNNL_ARG_WEIGHTS, layer.weights},
                                {DNNL_ARG_BIAS, layer.bias},
                                {DNNL_ARG_DST, dst},
                                {DNNL_ARG_SCRATCHPAD, plan.scratch}});
    src = dst;
  }
  if (plan.last_dst_mem) dnnl::reorder(last_out, user_dst).execute(stream, last_out, user_dst);
  stream.wait();
  return result;
}

int WinogradChain::winograd_layers(int64_t height, int64_t width) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const Impl::Plan& plan = impl_->plan_for({1, impl_->layers[0].weight.size(1), height, width});
  int count = 0;
  for (const auto& layer : plan.layers) count += layer.winograd;
  return count;
}

}  // namespace retinanet

#else  // no oneDNN of our own: the callers keep ATen's path

namespace retinanet {

struct WinogradChain::Impl {};
WinogradChain::WinogradChain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WinogradChain::~WinogradChain() = default;
std::unique_ptr<WinogradChain> WinogradChain::create(std::vector<Layer>) { return nullptr; }
torch::Tensor WinogradChain::forward(const torch::Tensor&) { return {}; }
int WinogradChain::winograd_layers(int64_t, int64_t) { return 0; }

}  // namespace retinanet

#endif
