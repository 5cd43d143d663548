#include "parley_adapter.h"
