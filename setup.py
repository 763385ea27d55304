"""Maps the repository's top-level folders into one installed package, ``snnc``.

The design keeps ``compiler/``, ``runtime/``, ``targets/``, ``models/``, ``bench/`` and
``cli.py`` at the top of the repository; installed, they are ``snnc.compiler``,
``snnc.targets`` ... so nothing but ``snnc`` lands in site-packages. Packages are found
here (not listed in pyproject.toml) so a new subpackage needs no edit elsewhere.
"""
from setuptools import find_packages, setup

TOP = ["compiler", "targets", "models", "bench"]
packages = ["snnc"] + ["snnc." + p for p in find_packages(include=[f"{t}*" for t in TOP])]

setup(
    packages=packages,
    package_dir={"snnc": "."},
    package_data={
        # The C runtime and build files travel with the compiler that emits code for them.
        "snnc": ["runtime/include/snnc/*.h", "runtime/src/*.c", "runtime/src/*.h",
                 "runtime/tests/*", "runtime/README.md", "CMakeLists.txt", "cmake/*.cmake"],
        "": ["*.snn", "*.ts", "*.json", "*.md", "*.j2", "*.c", "*.h", "*.ld", "*.npz",
             "templates/*", "templates/**/*", "data/**/*", "results/*"],
    },
)
