/* dlopen.c - being written */
