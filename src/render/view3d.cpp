// View3d: see view3d.h.
#include "src/render/view3d.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "ddpg/io.h"

namespace ddpg {
namespace {

constexpr int kMaxGeoms = 2000;
// by Solid::Paint: robot (Gymnasium's geom colour), scenery, target, object
constexpr float kPaintRgba[4][4] = {{0.8f, 0.6f, 0.4f, 1.0f},
                                    {0.6f, 0.6f, 0.65f, 1.0f},
                                    {0.9f, 0.2f, 0.2f, 1.0f},
                                    {0.95f, 0.95f, 0.95f, 1.0f}};

const float* rgba_of(Solid::Paint p) { return kPaintRgba[static_cast<int>(p)]; }
// Planes collide everywhere, whatever their size, which only sets how much of them is drawn. A
// floor (a plane of either half size 0 or at least kFloorMin metres) is drawn kFloorHalfSize
// metres around the camera's target, moved in steps of kFloorStep metres (a whole number of
// checker periods), so that a robot never walks off its end.
constexpr double kFloorMin = 10, kFloorHalfSize = 50, kFloorStep = 2;

// The stage: textures and settings for the renderer, no bodies. Extent 2 sets the shadow box
// (shadowclip × extent = ±3 m around the camera's target) and, for Bullet scenes, the near and
// far planes (znear × extent, zfar × extent).
std::string stage_xml(int width, int height) {
  return R"(<mujoco model="ddpg render stage">
  <statistic extent="2" center="0 0 0"/>
  <visual>
    <global offwidth=")" +
         std::to_string(width) + R"(" offheight=")" + std::to_string(height) + R"("/>
    <quality shadowsize="1024" offsamples="4"/>
    <map znear="0.01" zfar="60" shadowclip="1.5" haze="0.3"/>
  </visual>
  <asset>
    <texture name="sky" type="skybox" builtin="gradient" rgb1="0.4 0.5 0.6" rgb2="0 0 0"
             width="64" height="384"/>
    <texture name="checker" type="2d" builtin="checker" rgb1="0.2 0.3 0.4" rgb2="0.1 0.15 0.2"
             width="256" height="256" mark="edge" markrgb="0.25 0.35 0.45"/>
    <material name="floor" texture="checker" texrepeat="1 1" texuniform="true"
              reflectance="0.2" specular="0.3" shininess="0.3"/>
  </asset>
</mujoco>
)";
}

mjModel* compile(const std::string& xml, const std::string& name) {
  auto vfs = std::make_unique<mjVFS>();  // too large for the stack
  mj_defaultVFS(vfs.get());
  if (mj_makeEmptyFileVFS(vfs.get(), name.c_str(), static_cast<int>(xml.size())) != 0) {
    throw Error("MuJoCo: cannot create the in-memory file for " + name);
  }
  std::memcpy(vfs->filedata[mj_findFileVFS(vfs.get(), name.c_str())], xml.data(), xml.size());
  char err[1024] = "";
  mjModel* m = mj_loadXML(name.c_str(), vfs.get(), err, sizeof err);
  mj_deleteVFS(vfs.get());
  if (!m) throw Error("MuJoCo could not compile the render stage: " + std::string(err));
  return m;
}

mjtGeom geom_type(Solid::Type t) {
  switch (t) {
    case Solid::Type::kPlane:
      return mjGEOM_PLANE;
    case Solid::Type::kSphere:
      return mjGEOM_SPHERE;
    case Solid::Type::kCapsule:
      return mjGEOM_CAPSULE;
    case Solid::Type::kCylinder:
      return mjGEOM_CYLINDER;
    case Solid::Type::kBox:
      return mjGEOM_BOX;
  }
  return mjGEOM_SPHERE;
}

bool default_grey(const float rgba[4]) {
  return rgba[0] == 0.5f && rgba[1] == 0.5f && rgba[2] == 0.5f && rgba[3] == 1.0f;
}

}  // namespace

View3d::View3d(int width, int height) : width_(width), height_(height) {
  stage_ = compile(stage_xml(width, height), "render_stage.xml");
  stage_data_ = mj_makeData(stage_);
  mj_forward(stage_, stage_data_);
  floor_material_ = mj_name2id(stage_, mjOBJ_MATERIAL, "floor");
  mjr_defaultContext(&con_);
  mjr_makeContext(stage_, &con_, mjFONTSCALE_100);
  mjr_setBuffer(mjFB_OFFSCREEN, &con_);
  if (con_.currentBuffer != mjFB_OFFSCREEN || con_.offWidth < width || con_.offHeight < height) {
    mjr_freeContext(&con_);
    mj_deleteData(stage_data_);
    mj_deleteModel(stage_);
    throw Error("MuJoCo's renderer got no offscreen framebuffer of " + std::to_string(width) +
                " x " + std::to_string(height) + " on " + gl_.description() +
                "; try a smaller --width/--height");
  }
  mjv_defaultScene(&scn_);
  mjv_makeScene(stage_, &scn_, kMaxGeoms);
  mjv_defaultOption(&opt_);
  mjv_defaultFreeCamera(stage_, &cam_);
  pixels_.resize(static_cast<size_t>(width) * height * 3);
}

View3d::~View3d() {
  gl_.make_current();
  if (copy_) mj_deleteData(copy_);
  mjv_freeScene(&scn_);
  mjr_freeContext(&con_);
  mj_deleteData(stage_data_);
  mj_deleteModel(stage_);
}

void View3d::add_solids(const Scene& scene) {
  scn_.ngeom = 0;
  for (const Solid& s : scene.solids) {
    if (scn_.ngeom >= scn_.maxgeom) break;
    const mjtNum size[3] = {s.size[0], s.size[1], s.size[2]};
    const mjtNum pos[3] = {s.pos[0], s.pos[1], s.pos[2]};
    mjvGeom* g = &scn_.geoms[scn_.ngeom++];
    mjv_initGeom(g, geom_type(s.type), size, pos, s.rot.data(), rgba_of(s.paint));
    g->category = s.paint == Solid::Paint::kScenery ? mjCAT_STATIC : mjCAT_DYNAMIC;
  }
}

void View3d::paint_geoms(const mjModel* m) {
  geom_paint_.assign(m->ngeom, Solid::Paint::kRobot);
  for (int i = 0; i < m->ngeom; ++i) {
    const int body = m->geom_bodyid[i];
    const char* body_name = mj_id2name(m, mjOBJ_BODY, body);
    const char* geom_name = mj_id2name(m, mjOBJ_GEOM, i);
    const bool is_static = m->body_weldid[body] == 0;  // welded to the world
    const Solid::Paint by_body = paint_of_body(body_name ? body_name : "", is_static);
    const Solid::Paint by_geom = paint_of_body(geom_name ? geom_name : "", is_static);
    geom_paint_[i] =
        by_body == Solid::Paint::kTarget || by_body == Solid::Paint::kObject ? by_body : by_geom;
  }
}

void View3d::restyle() {
  const int m = floor_material_;
  for (int i = 0; i < scn_.ngeom; ++i) {
    mjvGeom& g = scn_.geoms[i];
    if (g.type == mjGEOM_PLANE) {
      // MuJoCo's default plane (no per-model OpenGL list), with the stage's floor material
      g.dataid = -1;
      if (g.size[0] <= 0 || g.size[0] >= kFloorMin) {
        g.size[0] = g.size[1] = static_cast<float>(kFloorHalfSize);
        for (int k = 0; k < 2; ++k) {
          // along the plane's own axis k (column k of its rotation)
          double along = 0;
          for (int j = 0; j < 3; ++j) along += (cam_.lookat[j] - g.pos[j]) * g.mat[3 * j + k];
          const double shift = kFloorStep * std::round(along / kFloorStep);
          for (int j = 0; j < 3; ++j) g.pos[j] += static_cast<float>(shift * g.mat[3 * j + k]);
        }
      }
      g.texid = stage_->mat_texid[m];
      g.texuniform = stage_->mat_texuniform[m];
      g.texrepeat[0] = stage_->mat_texrepeat[2 * m];
      g.texrepeat[1] = stage_->mat_texrepeat[2 * m + 1];
      g.specular = stage_->mat_specular[m];
      g.shininess = stage_->mat_shininess[m];
      g.reflectance = stage_->mat_reflectance[m];
      g.emission = 0;
      for (float& c : g.rgba) c = 1.0f;
    } else if (g.objtype == mjOBJ_GEOM && default_grey(g.rgba) && g.objid >= 0 &&
               g.objid < static_cast<int>(geom_paint_.size())) {
      const float* rgba = rgba_of(geom_paint_[g.objid]);
      std::copy(rgba, rgba + 4, g.rgba);
    }
    if (g.type != mjGEOM_PLANE) {
      g.specular = 0.3f;
      g.shininess = 0.3f;
    }
  }
}

void View3d::set_lights() {
  // a headlight, as MuJoCo's, and a sun above the target whose shadow box follows it
  mjtNum head[3], forward[3], up[3];
  mjv_cameraInModel(head, forward, up, &scn_);
  scn_.nlight = 2;
  mjvLight& h = scn_.lights[0];
  std::memset(&h, 0, sizeof h);
  h.headlight = 1;
  h.directional = 1;
  for (int i = 0; i < 3; ++i) {
    h.pos[i] = static_cast<float>(head[i]);
    h.dir[i] = static_cast<float>(forward[i]);
    h.ambient[i] = 0.25f;
    h.diffuse[i] = 0.45f;
    h.specular[i] = 0.1f;
  }
  h.attenuation[0] = 1;
  h.cutoff = 180;
  mjvLight& s = scn_.lights[1];
  s = h;
  s.headlight = 0;
  s.castshadow = 1;
  const double dir[3] = {0.3, 0.25, -1.0};
  const double n = std::sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
  for (int i = 0; i < 3; ++i) {
    s.dir[i] = static_cast<float>(dir[i] / n);
    s.pos[i] = static_cast<float>(cam_.lookat[i] - 6 * dir[i] / n);
    s.ambient[i] = 0.1f;
    s.diffuse[i] = 0.5f;
    s.specular[i] = 0.3f;
  }
}

void View3d::draw(const Scene& scene, Image& out) {
  gl_.make_current();
  cam_.type = mjCAMERA_FREE;
  for (int i = 0; i < 3; ++i) cam_.lookat[i] = scene.camera.lookat[i];
  cam_.distance = scene.camera.distance;
  cam_.azimuth = scene.camera.azimuth;
  cam_.elevation = scene.camera.elevation;
  if (scene.kind == Scene::Kind::kMujoco) {
    const mjModel* m = scene.model;
    if (m->nmesh > 0 || m->nhfield > 0 || m->nskin > 0) {
      throw Error(
          "this MuJoCo model has meshes, height fields or skins, which the renderer does not "
          "draw (it draws primitive geoms on its own stage)");
    }
    if (copy_model_ != m) {
      if (copy_) mj_deleteData(copy_);
      copy_ = mj_makeData(m);
      copy_model_ = m;
      paint_geoms(m);
    }
    mj_copyData(copy_, m, scene.data);
    mjv_updateScene(m, copy_, &opt_, nullptr, &cam_, mjCAT_ALL, &scn_);
  } else {
    add_solids(scene);
    mjv_updateCamera(stage_, stage_data_, &cam_, &scn_);
  }
  restyle();
  set_lights();
  const mjrRect viewport = {0, 0, width_, height_};
  mjr_setBuffer(mjFB_OFFSCREEN, &con_);
  mjr_render(viewport, &scn_, &con_);
  mjr_readPixels(pixels_.data(), nullptr, viewport, &con_);
  if (out.width != width_ || out.height != height_) out = Image(width_, height_);
  const size_t row = static_cast<size_t>(width_) * 3;
  for (int y = 0; y < height_; ++y) {
    std::memcpy(out.pixel(0, y), &pixels_[(height_ - 1 - y) * row], row);
  }
}

}  // namespace ddpg
