#!/usr/bin/env bash
# Installs every Debian 12 package gst-retinanet needs to build, test and run.
# Idempotent: packages already present are skipped by apt-get; run as root.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config g++ cmake
  # detector core
  libtorch-dev libdnnl-dev libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev nlohmann-json3-dev
  # tracker (retinanettrack): OpenCV's Kalman filter
  libopencv-video-dev
  # GStreamer plugin, pipelines and their tests
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav libgstrtspserver-1.0-dev gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0
  # a Python host that imports OpenCV before GStreamer (tests/gst/test_host_order.py)
  python3-opencv
  # retinanetpublish: the brokers' client libraries; the brokers and clients its tests run (mosquitto, paho,
  # confluent-kafka on librdkafka; Kafka itself is librdkafka's mock cluster) and the message schema's validator
  libmosquitto-dev librdkafka-dev mosquitto mosquitto-clients python3-paho-mqtt python3-confluent-kafka
  python3-jsonschema
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer
  clang libclang-rt-14-dev
  # tests: GoogleTest and the torchvision reference
  libgtest-dev libgmock-dev python3-torch python3-torchvision python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
