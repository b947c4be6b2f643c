/* mirror.c - being written */
