// Symbol visibility for libember: EMBER_API marks what a shared build exports.
#pragma once

#if defined(EMBER_STATIC)
#define EMBER_API
#elif defined(_WIN32)
#ifdef EMBER_BUILDING
#define EMBER_API __declspec(dllexport)
#else
#define EMBER_API __declspec(dllimport)
#endif
#else
#define EMBER_API __attribute__((visibility("default")))
#endif
