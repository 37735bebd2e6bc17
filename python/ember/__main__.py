"""`python -m ember --cmake-dir` prints the prefix for find_package(ember)."""
import argparse
import os


def main():
    parser = argparse.ArgumentParser(prog="python -m ember")
    parser.add_argument("--cmake-dir", action="store_true",
                        help="print the directory to pass as ember_DIR / CMAKE_PREFIX_PATH")
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    if args.cmake_dir:
        print(os.path.join(here, "share", "cmake", "ember"))
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
