/* log.c - being written */
