"""`python -m ember --cmake-dir` prints where find_package(ember) finds ember's CMake package."""
import argparse
import os
import sys

import ember


def _find(*parts):
    # An editable install splits the package over the source tree and site-packages, so
    # look through every directory of ember.__path__ for the installed C++ files.
    for root in ember.__path__:
        path = os.path.join(root, *parts)
        if os.path.exists(path):
            return os.path.abspath(path)
    sys.exit("ember: no " + "/".join(parts) + " in " + ", ".join(ember.__path__)
             + " (is ember installed with its C++ files?)")


def main():
    parser = argparse.ArgumentParser(prog="python -m ember")
    parser.add_argument("--cmake-dir", action="store_true",
                        help="print the directory to pass as ember_DIR to CMake")
    parser.add_argument("--include-dir", action="store_true",
                        help="print the directory that holds ember/ember.h")
    parser.add_argument("--lib-dir", action="store_true", help="print the directory of libember")
    parser.add_argument("--version", action="store_true", help="print ember's version")
    args = parser.parse_args()
    if args.cmake_dir:
        print(os.path.dirname(_find("share", "cmake", "ember", "emberConfig.cmake")))
    elif args.include_dir:
        print(os.path.dirname(_find("include", "ember")))
    elif args.lib_dir:
        print(_find("lib"))
    elif args.version:
        print(ember.__version__)
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
