// The single source of ember's version (read by CMake and the Python package).
#pragma once
#define EMBER_VERSION "0.1.0"
