"""Maps the repository's top-level folders into one installed package, ``snnc``.

The design keeps ``compiler/``, ``runtime/``, ``targets/``, ``models/``, ``bench/`` and
``cli.py`` at the top of the repository; installed, they are ``snnc.compiler``,
``snnc.targets`` ... so nothing but ``snnc`` lands in site-packages. Packages are found
here (not listed in pyproject.toml) so a new subpackage needs no edit elsewhere.
"""
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

TOP = ["compiler", "targets", "models", "bench"]
packages = ["snnc"] + ["snnc." + p for p in find_packages(include=[f"{t}*" for t in TOP])]



class BuildPy(build_py):
    """Leaves this file out of the package: the repository root is the ``snnc`` package
    directory, so setuptools would otherwise install it as ``snnc.setup``."""

    def find_package_modules(self, package, package_dir):  # noqa: D102
        mods = super().find_package_modules(package, package_dir)
        return [m for m in mods if not (package == "snnc" and m[1] == "setup")]


setup(
    cmdclass={"build_py": BuildPy},
    packages=packages,
    package_dir={"snnc": "."},
    package_data={
        # The C runtime and build files travel with the compiler that emits code for them.
        "snnc": ["runtime/include/snnc/*.h", "runtime/src/*.c", "runtime/src/*.h",
                 "runtime/tvm/*.c", "runtime/tvm/*.h",
                 "runtime/tests/*", "runtime/README.md", "CMakeLists.txt", "cmake/*.cmake"],
        "": ["*.snn", "*.ts", "*.json", "*.md", "*.j2", "*.c", "*.h", "*.ld", "*.npz",
             "templates/*", "templates/**/*", "data/**/*", "results/*"],
    },
    # Repository documents at the root are not part of the installed package.
    exclude_package_data={"snnc": ["README.md", "CONTRIBUTING.md", "DEVELOPERS.md"]},
)
