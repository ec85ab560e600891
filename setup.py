"""pip install of the Python module (docs/python.md), without network:

    scripts/build
    /usr/bin/python3 -m pip install --no-build-isolation --no-deps .

The module is the one CMake builds (build/python/ddpg: the package's Python files and the native
_core extension). This setup.py builds that target in the build folder (DDPG_BUILD_DIR, default
build/) if it is missing or older than its sources, then installs the package from there. It
downloads nothing; --no-build-isolation lets pip use Debian's setuptools and wheel.
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(os.environ.get("DDPG_BUILD_DIR", os.path.join(ROOT, "build")))


class BuildWithCMake(build_py):
    """Copies build/python/ddpg (built by CMake first) into the package being installed."""

    def run(self):
        if not os.path.isfile(os.path.join(BUILD, "CMakeCache.txt")):
            raise SystemExit(f"no CMake build in {BUILD}: run scripts/build first "
                             "(or set DDPG_BUILD_DIR)")
        subprocess.run(["cmake", "--build", BUILD, "--target", "ddpg_python", "-j",
                        os.environ.get("DDPG_JOBS", "2")], check=True)
        src = os.path.join(BUILD, "python", "ddpg")
        if not os.path.isdir(src):
            raise SystemExit(f"{src} was not built: is pybind11-dev installed (scripts/build)?")
        dst = os.path.join(self.build_lib, "ddpg")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))


def version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        for line in f:
            if line.strip().startswith("project(") and "VERSION" in line:
                return line.split("VERSION")[1].split()[0].strip(")")
    return "0"


setup(
    name="ddpg",
    version=version(),
    description="DDPG-family reinforcement learning in C++: native envs with Gymnasium's API, "
                "the trainer, policies",
    packages=["ddpg"],
    package_dir={"ddpg": "python/ddpg"},
    python_requires=">=3.9",
    install_requires=["numpy"],
    cmdclass={"build_py": BuildWithCMake},
    zip_safe=False,
)
