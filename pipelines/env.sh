# Sourced by the pipeline scripts. Finds the plugin in this checkout's build tree ($RETINANET_BUILD, build/ or
# build-gst/) so the scripts run before `meson install`; an installed plugin is found by GStreamer on its own.
# MODEL (a .safetensors file) picks the model; unset, retinanetdetect uses the embedded default model.
_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for _dir in "${RETINANET_BUILD:-}" "$_here/../build" "$_here/../build-gst"; do
  if [ -n "$_dir" ] && [ -e "$_dir/gst/libgstretinanet.so" ]; then
    export GST_PLUGIN_PATH="$(cd "$_dir/gst" && pwd)${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
    break
  fi
done
unset _here _dir

# The retinanetdetect properties from the environment: MODEL, and DETECT_OPTIONS (e.g. "score-threshold=0.5").
detect_properties=()
[ -n "${MODEL:-}" ] && detect_properties+=("model=$MODEL")
# shellcheck disable=SC2206  # DETECT_OPTIONS is a list of property=value words by design
detect_properties+=(${DETECT_OPTIONS:-})

if ! gst-inspect-1.0 retinanetdetect > /dev/null 2>&1; then
  echo "$(basename "$0"): the retinanet GStreamer plugin is not found; build it (meson setup build && ninja -C build)" \
       "or set RETINANET_BUILD to your build directory" >&2
  exit 1
fi
