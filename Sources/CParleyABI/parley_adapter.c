// The ABI is the header alone; this file exists so the C target has a source to compile.
#include "parley_adapter.h"
