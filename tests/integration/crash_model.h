/* crash_model.h - the operation sequence of the kill test, shared by its writer and its checker.
 *
 * Operation i (i = 0, 1, 2, ...) writes key "crash:<i % nkeys>": a delete when
 * crash_is_delete(i), else a set of crash_value(i) with flags crash_flags(i).
 * Every operation is a pure function of i, so the checker can tell from the
 * index of the last acknowledged operation what each key must hold, and a
 * restarted writer can redo its last (unacknowledged) operation harmlessly.
 */
#ifndef CRASH_MODEL_H
#define CRASH_MODEL_H

#include <stddef.h>
#include <stdint.h>

/** Longest value crash_value() makes (terminating NUL included). */
#define CRASH_VALUE_MAX 512
/** Longest key crash_key() makes (terminating NUL included). */
#define CRASH_KEY_MAX 32

/** A 64-bit mix of i (splitmix64 finaliser). */
uint64_t crash_mix(uint64_t i);

/** The key of operation i into buf (CRASH_KEY_MAX bytes); returns its length. */
size_t crash_key(uint64_t i, uint64_t nkeys, char *buf);

/** Is operation i a delete? (about one in eight) */
int crash_is_delete(uint64_t i);

/** The value a set i writes into buf (CRASH_VALUE_MAX bytes); returns its length.
 * It starts with "i=<i>;", so a value found anywhere names its operation. */
size_t crash_value(uint64_t i, char *buf);

/** The flags a set i writes. */
uint32_t crash_flags(uint64_t i);

/** The operation index named by a value made by crash_value(), or -1 when it
 * is not one (then the value is corrupt). */
int64_t crash_value_index(const char *value, size_t len);

/** The state file shared by the writer and the checker: the index of the last
 * acknowledged operation (-1: none), updated after each call returns. */
struct crash_state {
	int64_t acked;
};

/** Map the state file at path (created with acked = -1 when missing). NULL on error. */
struct crash_state *crash_state_map(const char *path);

#endif
