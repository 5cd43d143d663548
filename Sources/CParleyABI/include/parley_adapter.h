/* Placeholder: the versioned adapter ABI is defined by the adapter-kit work. */
#ifndef PARLEY_ADAPTER_H
#define PARLEY_ADAPTER_H
#include <stdint.h>
#include <stddef.h>
#define PARLEY_ABI_VERSION 1u
#endif
