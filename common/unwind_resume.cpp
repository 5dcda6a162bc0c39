// One unwinder per exception, whatever order a host process loaded its libraries in.
//
// A process can hold two implementations of the unwinding ABI (`_Unwind_RaiseException`, `_Unwind_Resume`...):
// libgcc_s's and libunwind.so.8's (libgstreamer links the latter, so OpenCV's videoio brings it into Python with
// `import cv2`). Each library binds those names by its own lookup scope, so after `import cv2` then GStreamer,
// libstdc++'s `__cxa_throw` raises through libgcc_s while this project's code (and LibTorch's, oneDNN's) resumes
// after a destructor through libunwind: the two keep different private state in the exception, and the host aborts
// in the first exception that crosses a cleanup (`std::terminate` from the personality, or invalid reads).
//
// Every object of this project is linked with `--wrap=_Unwind_Resume` (common/meson.build), so its landing pads call
// the function below, which resumes with the implementation that libstdc++, the raiser of every C++ exception, is
// bound to. The plugin's own probes do not throw at all (winograd_chain.cpp asks oneDNN with allow_empty).
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <unwind.h>

#include <cstring>

extern "C" void __real__Unwind_Resume(_Unwind_Exception* exception);  // what the linker would have chosen

namespace {

using ResumeFn = void (*)(_Unwind_Exception*);

struct Found {
  void* raise = nullptr;  // where libstdc++'s `_Unwind_RaiseException` slot points
};

// Reads libstdc++'s resolved slot for `_Unwind_RaiseException` from its relocations (JUMP_SLOT or GLOB_DAT).
int find_raise_slot(dl_phdr_info* info, size_t, void* data) {
  if (!info->dlpi_name || !std::strstr(info->dlpi_name, "libstdc++.so")) return 0;
  const ElfW(Dyn)* dynamic = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
      dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  if (!dynamic) return 0;
  // glibc relocates the pointers of the dynamic section in place on x86-64; others keep them relative.
  auto address = [&](ElfW(Addr) p) { return p < info->dlpi_addr ? p + info->dlpi_addr : p; };
  const ElfW(Sym)* symbols = nullptr;
  const char* strings = nullptr;
  const ElfW(Rela)* tables[2] = {nullptr, nullptr};
  size_t sizes[2] = {0, 0};
  for (const ElfW(Dyn)* d = dynamic; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: symbols = reinterpret_cast<const ElfW(Sym)*>(address(d->d_un.d_ptr)); break;
      case DT_STRTAB: strings = reinterpret_cast<const char*>(address(d->d_un.d_ptr)); break;
      case DT_JMPREL: tables[0] = reinterpret_cast<const ElfW(Rela)*>(address(d->d_un.d_ptr)); break;
      case DT_PLTRELSZ: sizes[0] = d->d_un.d_val; break;
      case DT_RELA: tables[1] = reinterpret_cast<const ElfW(Rela)*>(address(d->d_un.d_ptr)); break;
      case DT_RELASZ: sizes[1] = d->d_un.d_val; break;
      default: break;
    }
  }
  if (!symbols || !strings) return 0;
  for (int t = 0; t < 2; ++t) {
    if (!tables[t]) continue;
    for (size_t i = 0; i < sizes[t] / sizeof(ElfW(Rela)); ++i) {
      const ElfW(Rela)& r = tables[t][i];
      const size_t sym = ELF64_R_SYM(r.r_info);
      if (sym == 0 || std::strcmp(strings + symbols[sym].st_name, "_Unwind_RaiseException") != 0) continue;
      static_cast<Found*>(data)->raise = *reinterpret_cast<void* const*>(info->dlpi_addr + r.r_offset);
      return 1;
    }
  }
  return 1;
}

// A throw caught in the same frame runs through no cleanup (so no `_Unwind_Resume`, safe under any pairing) and
// makes libstdc++ bind `_Unwind_RaiseException` if it is lazily bound and has not thrown yet.
__attribute__((noinline)) void bind_raise() {
  try {
    throw 0;
  } catch (int) {
  }
}

ResumeFn choose_resume() {
  bind_raise();
  Found found;
  dl_iterate_phdr(find_raise_slot, &found);
  Dl_info where{};
  if (!found.raise || !dladdr(found.raise, &where) || !where.dli_fname) return &__real__Unwind_Resume;
  void* library = dlopen(where.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!library) return &__real__Unwind_Resume;
  void* resume = dlsym(library, "_Unwind_Resume");
  dlclose(library);  // RTLD_NOLOAD took a reference to an object that stays loaded
  return resume ? reinterpret_cast<ResumeFn>(resume) : &__real__Unwind_Resume;
}

// Chosen when the library loads, before any exception of ours is in flight.
const ResumeFn g_resume = choose_resume();

}  // namespace

extern "C" [[noreturn]] void __wrap__Unwind_Resume(_Unwind_Exception* exception) {
  // g_resume is null only while static initialisers of this object run before its own.
  (g_resume ? g_resume : &__real__Unwind_Resume)(exception);
  __builtin_unreachable();
}

