// The score math of the post-processing that the candidates kernel shares with its host twin.
#pragma once

#include <cmath>

#include "common/host_device.h"

namespace retinanet {

// torch.sigmoid for one logit, as the kernels compute it.
RETINANET_HD float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

}  // namespace retinanet
