/*
 * validate.h: the rules for identifiers and labels (spec section 3), in
 * containerd's order, with messages that name the offending value.
 */
#ifndef SANDBOXD_VALIDATE_H
#define SANDBOXD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* validate.c */
int	validate_identifier(const char *, const char *, char **);
int	validate_label(const char *, const char *, char **);

#endif /* SANDBOXD_VALIDATE_H */
