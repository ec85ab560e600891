// GlContext: see gl_context.h.
#include "src/render/gl_context.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "ddpg/io.h"

// Only the types and constants of the Khronos headers: every function is looked up at run time.
#define EGL_EGL_PROTOTYPES 0
#include <EGL/egl.h>
#include <EGL/eglext.h>

namespace ddpg {
namespace {

const char* const kPackages =
    "install libegl1, libegl-mesa0 and libgl1-mesa-dri (scripts/build does); 2-D envs "
    "(classic control, Box2D) are drawn without OpenGL";

// The EGL entry points, loaded once per process. The library is never unloaded: GL drivers do not
// survive dlclose.
struct Egl {
  std::string error;  // why loading failed ("" when it did not)
  PFNEGLGETPROCADDRESSPROC GetProcAddress = nullptr;
  PFNEGLGETERRORPROC GetError = nullptr;
  PFNEGLQUERYSTRINGPROC QueryString = nullptr;
  PFNEGLGETDISPLAYPROC GetDisplay = nullptr;
  PFNEGLINITIALIZEPROC Initialize = nullptr;
  PFNEGLCHOOSECONFIGPROC ChooseConfig = nullptr;
  PFNEGLBINDAPIPROC BindAPI = nullptr;
  PFNEGLCREATECONTEXTPROC CreateContext = nullptr;
  PFNEGLDESTROYCONTEXTPROC DestroyContext = nullptr;
  PFNEGLMAKECURRENTPROC MakeCurrent = nullptr;
  PFNEGLCREATEPBUFFERSURFACEPROC CreatePbufferSurface = nullptr;
  PFNEGLDESTROYSURFACEPROC DestroySurface = nullptr;
  PFNEGLGETPLATFORMDISPLAYEXTPROC GetPlatformDisplayEXT = nullptr;  // may stay null
  PFNEGLQUERYDEVICESEXTPROC QueryDevicesEXT = nullptr;              // may stay null
};

template <class F>
void lookup(void* lib, const char* name, F& f, std::string& missing) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  if (!f) missing += std::string(missing.empty() ? "" : ", ") + name;
}

const Egl& egl() {
  static const Egl loaded = [] {
    Egl e;
    const char* name = std::getenv("DDPG_EGL_LIBRARY");
    if (!name || !*name) name = "libEGL.so.1";
    // RTLD_GLOBAL: MuJoCo's GL loader finds eglGetProcAddress among the process's symbols
    void* lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
      const char* why = dlerror();
      e.error = std::string(name) + " could not be loaded (" + (why ? why : "?") + ")";
      return e;
    }
    std::string missing;
    lookup(lib, "eglGetProcAddress", e.GetProcAddress, missing);
    lookup(lib, "eglGetError", e.GetError, missing);
    lookup(lib, "eglQueryString", e.QueryString, missing);
    lookup(lib, "eglGetDisplay", e.GetDisplay, missing);
    lookup(lib, "eglInitialize", e.Initialize, missing);
    lookup(lib, "eglChooseConfig", e.ChooseConfig, missing);
    lookup(lib, "eglBindAPI", e.BindAPI, missing);
    lookup(lib, "eglCreateContext", e.CreateContext, missing);
    lookup(lib, "eglDestroyContext", e.DestroyContext, missing);
    lookup(lib, "eglMakeCurrent", e.MakeCurrent, missing);
    lookup(lib, "eglCreatePbufferSurface", e.CreatePbufferSurface, missing);
    lookup(lib, "eglDestroySurface", e.DestroySurface, missing);
    if (!missing.empty()) {
      e.error = std::string(name) + " lacks " + missing;
      return e;
    }
    e.GetPlatformDisplayEXT = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
        e.GetProcAddress("eglGetPlatformDisplayEXT"));
    e.QueryDevicesEXT =
        reinterpret_cast<PFNEGLQUERYDEVICESEXTPROC>(e.GetProcAddress("eglQueryDevicesEXT"));
    return e;
  }();
  return loaded;
}

bool has_extension(const char* list, const char* name) {
  if (!list) return false;
  const size_t n = std::strlen(name);
  for (const char* p = std::strstr(list, name); p; p = std::strstr(p + 1, name)) {
    const bool starts = p == list || p[-1] == ' ';
    if (starts && (p[n] == ' ' || p[n] == '\0')) return true;
  }
  return false;
}

// One display for all contexts of the process, initialised on first use and kept until the process
// ends: eglTerminate would unload Mesa's driver, which keeps a few allocations that LeakSanitizer
// then reports from a module it can no longer name, and the next context would load it again.
std::mutex display_mutex;
EGLDisplay shared_display = EGL_NO_DISPLAY;
std::string shared_platform;

// Initialises the first display that works, from the platforms in the header's order.
EGLDisplay open_display(const Egl& e, std::string& platform) {
  std::vector<std::pair<EGLDisplay, std::string>> candidates;
  const char* client = e.QueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
  if (e.GetPlatformDisplayEXT && has_extension(client, "EGL_MESA_platform_surfaceless")) {
    candidates.emplace_back(
        e.GetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr),
        "surfaceless platform");
  }
  if (e.GetPlatformDisplayEXT && e.QueryDevicesEXT &&
      has_extension(client, "EGL_EXT_platform_device")) {
    EGLDeviceEXT devices[8];
    EGLint n = 0;
    if (e.QueryDevicesEXT(8, devices, &n)) {
      for (EGLint i = 0; i < n; ++i) {
        candidates.emplace_back(
            e.GetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT, devices[i], nullptr),
            "device " + std::to_string(i));
      }
    }
  }
  candidates.emplace_back(e.GetDisplay(EGL_DEFAULT_DISPLAY), "default display");
  for (const auto& [display, name] : candidates) {
    EGLint major = 0, minor = 0;
    if (display == EGL_NO_DISPLAY || !e.Initialize(display, &major, &minor)) continue;
    const char* vendor = e.QueryString(display, EGL_VENDOR);
    platform = "EGL " + std::to_string(major) + "." + std::to_string(minor) + ", " +
               (vendor ? vendor : "unknown vendor") + ", " + name;
    return display;
  }
  return EGL_NO_DISPLAY;
}

std::string egl_error(const Egl& e) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%04x", static_cast<unsigned>(e.GetError()));
  return hex;
}

}  // namespace

GlContext::GlContext() {
  const Egl& e = egl();
  if (!e.error.empty()) {
    throw Error("3-D envs (MuJoCo, Bullet) are drawn with OpenGL through EGL, and " + e.error +
                ": " + kPackages);
  }
  {
    std::lock_guard<std::mutex> lock(display_mutex);
    if (shared_display == EGL_NO_DISPLAY) {
      shared_display = open_display(e, shared_platform);
      if (shared_display == EGL_NO_DISPLAY) {
        throw Error(
            "EGL found no display to draw on (tried Mesa's surfaceless platform, the EGL devices "
            "and the default display): " +
            std::string(kPackages));
      }
    }
    display_ = shared_display;
    description_ = shared_platform;
  }
  try {
    EGLDisplay display = display_;
    const EGLint attributes[] = {EGL_RED_SIZE,
                                 8,
                                 EGL_GREEN_SIZE,
                                 8,
                                 EGL_BLUE_SIZE,
                                 8,
                                 EGL_DEPTH_SIZE,
                                 24,
                                 EGL_SURFACE_TYPE,
                                 EGL_PBUFFER_BIT,
                                 EGL_RENDERABLE_TYPE,
                                 EGL_OPENGL_BIT,
                                 EGL_NONE};
    EGLConfig config = nullptr;
    EGLint count = 0;
    if (!e.ChooseConfig(display, attributes, &config, 1, &count) || count < 1) {
      throw Error("EGL has no OpenGL configuration on " + description_ + " (" + egl_error(e) +
                  "): " + kPackages);
    }
    if (!e.BindAPI(EGL_OPENGL_API)) {
      throw Error("EGL on " + description_ + " offers no desktop OpenGL (" + egl_error(e) +
                  "): " + kPackages);
    }
    context_ = e.CreateContext(display, config, EGL_NO_CONTEXT, nullptr);
    if (context_ == EGL_NO_CONTEXT) {
      throw Error("EGL could not create an OpenGL context on " + description_ + " (" +
                  egl_error(e) + "): " + kPackages);
    }
    if (!has_extension(e.QueryString(display, EGL_EXTENSIONS), "EGL_KHR_surfaceless_context")) {
      const EGLint size[] = {EGL_WIDTH, 1, EGL_HEIGHT, 1, EGL_NONE};
      surface_ = e.CreatePbufferSurface(display, config, size);
      if (surface_ == EGL_NO_SURFACE) {
        throw Error("EGL could not create a pbuffer on " + description_ + " (" + egl_error(e) +
                    ")");
      }
    }
    make_current();
  } catch (...) {
    release();
    throw;
  }
}

void GlContext::make_current() {
  const Egl& e = egl();
  EGLSurface s = surface_ ? surface_ : EGL_NO_SURFACE;
  if (!e.MakeCurrent(display_, s, s, context_)) {
    throw Error("EGL could not make the OpenGL context current on " + description_ + " (" +
                egl_error(e) + ")");
  }
}

GlContext::~GlContext() { release(); }

void GlContext::release() {
  if (!display_) return;
  const Egl& e = egl();
  e.MakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
  if (surface_) e.DestroySurface(display_, surface_);
  if (context_) e.DestroyContext(display_, context_);
  surface_ = context_ = nullptr;
  display_ = nullptr;
}

}  // namespace ddpg
