/* hash.h -- what pylight's uthash tables do alike; include it after <uthash.h> */
#ifndef PYLIGHT_HASH_H
#define PYLIGHT_HASH_H

#include <stdlib.h>
#include <string.h>

/*
 * Empties the table `head`, handing each element to `free_elem` once it is out of the table
 * (uthash frees its own bookkeeping with the last one). clang-analyzer loses track of uthash's
 * links here: a NOLINTNEXTLINE(clang-analyzer-unix.Malloc) stands before each use.
 */
#define HASH_FREE_ALL(head, free_elem)                  \
	do {                                            \
		__typeof__(head) el_, tmp_;             \
		HASH_ITER(hh, head, el_, tmp_) {        \
			HASH_DEL(head, el_);            \
			free_elem(el_);                 \
		}                                       \
	} while (0)

/*
 * Points `el` at the element of `head` whose string key, its malloc'd field `key`, is `name`:
 * the one there, or a zeroed one added with a copy of `name` (then `added` is true). `el` is
 * NULL when memory ran out.
 */
#define HASH_GET_STR(head, key, name, el, added)                                     \
	do {                                                                         \
		HASH_FIND_STR(head, name, el);                                       \
		(added) = !(el);                                                     \
		if ((added) && ((el) = calloc(1, sizeof(*(el)))) &&                  \
		    !((el)->key = strdup(name))) {                                   \
			free(el);                                                    \
			(el) = NULL;                                                 \
		}                                                                    \
		if ((added) && (el))                                                 \
			HASH_ADD_KEYPTR(hh, head, (el)->key, strlen((el)->key), el); \
	} while (0)

#endif
