// View3d: draws 3-D scenes (scene.h kMujoco and kSolids) with MuJoCo's renderer into its offscreen
// framebuffer, on an EGL context of its own (gl_context.h).
//
// The OpenGL resources come from a small "stage" model compiled from text here: a gradient
// skybox, a checker texture for floors, the offscreen buffer's size and the shadow settings. The
// envs' own models carry no textures, lights or colours, so every frame is restyled the same way:
// planes get the checker floor (drawn with MuJoCo's default plane, so that no plane of the stage
// has to match the env's), the geoms the colours of their paint (scene.h: the robots Gymnasium's
// tan (0.8, 0.6, 0.4), targets red) unless the model gives them a colour, and the lights are a
// headlight and a shadow-casting sun over the camera's target. A MuJoCo env's data are copied
// before MuJoCo's scene update reads them; a Bullet env's solids become geoms of the same scene.
// Models with meshes, height fields or skins are refused (their OpenGL lists would have to come
// from the env's model).
#pragma once

#include <mujoco/mujoco.h>

#include <cstdint>
#include <vector>

#include "ddpg/render.h"
#include "ddpg/scene.h"
#include "src/render/gl_context.h"

namespace ddpg {

class View3d {
 public:
  View3d(int width, int height);
  ~View3d();
  View3d(const View3d&) = delete;
  View3d& operator=(const View3d&) = delete;

  // Draws `scene` (kMujoco or kSolids) into `out` (width × height).
  void draw(const Scene& scene, Image& out);

 private:
  void add_solids(const Scene& scene);
  // The paint of each geom of a MuJoCo model, by its body's name (scene.h paint_of_body).
  void paint_geoms(const mjModel* m);
  void restyle();
  void set_lights();

  int width_, height_;
  GlContext gl_;
  mjModel* stage_ = nullptr;
  mjData* stage_data_ = nullptr;
  mjrContext con_;
  mjvScene scn_;
  mjvOption opt_;
  mjvCamera cam_;
  int floor_material_ = -1;
  mjData* copy_ = nullptr;  // the MuJoCo env's data, copied each frame
  const mjModel* copy_model_ = nullptr;
  std::vector<Solid::Paint> geom_paint_;  // of copy_model_'s geoms
  std::vector<uint8_t> pixels_;           // bottom row first, as OpenGL reads them
};

}  // namespace ddpg
