// GlContext: an OpenGL context with no window, current on the calling thread, for MuJoCo's
// renderer to draw into its offscreen framebuffer.
//
// It is made with EGL, which is loaded at run time (libEGL.so.1, or $DDPG_EGL_LIBRARY), so that
// the rest of `ddpg` runs on machines without it and a missing library is an error that names the
// Debian packages rather than a failure to start. Displays are tried in order: Mesa's surfaceless
// platform (software rendering with llvmpipe, or a GPU's Mesa driver), then EGL devices (e.g.
// NVIDIA's driver), then the default display; the display is shared by the process's contexts and
// never terminated (see gl_context.cpp). The context is a compatibility-profile OpenGL one
// (MuJoCo 2.2 draws with fixed-function calls). MuJoCo finds the GL functions itself, through
// eglGetProcAddress, which is why the library is loaded RTLD_GLOBAL.
#pragma once

#include <string>

namespace ddpg {

class GlContext {
 public:
  // Throws Error naming the problem and the packages to install.
  GlContext();
  ~GlContext();
  GlContext(const GlContext&) = delete;
  GlContext& operator=(const GlContext&) = delete;

  // Makes the context current on this thread again (after another context was).
  void make_current();
  // e.g. "EGL 1.5, Mesa Project, surfaceless platform"
  const std::string& description() const { return description_; }

 private:
  void release();

  void* display_ = nullptr;
  void* context_ = nullptr;
  void* surface_ = nullptr;  // a 1×1 pbuffer where the display cannot go surfaceless
  std::string description_;
};

}  // namespace ddpg
