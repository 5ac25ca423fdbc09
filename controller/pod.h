/*
 * pod.h: CRI's PodSandboxConfig, as containerd sends it in a Create's
 * options, checked at Create and applied to the sandbox's launch at Start
 * (private to the controller).
 */
#ifndef SANDBOXD_POD_H
#define SANDBOXD_POD_H

#include <stdbool.h>
#include <stddef.h>

struct proc_launch;

/*
 * The message's full name.  containerd 1.7 sends it as the whole type URL
 * ("runtime.v1.PodSandboxConfig"); protobuf's own form prefixes a host
 * ("type.googleapis.com/..."): both name it.
 */
#define POD_CONFIG_TYPE		"runtime.v1.PodSandboxConfig"

struct pod_config;

/* pod.c */
bool		 pod_config_type(const char *);
struct pod_config *pod_config_parse(const void *, size_t, char **);
void		 pod_config_free(struct pod_config *);
bool		 pod_config_host_network(const struct pod_config *);
void		 pod_config_apply(const struct pod_config *,
		    struct proc_launch *);
void		 pod_config_info(const struct pod_config *,
		    void (*)(const char *, char *, void *), void *);

#endif /* SANDBOXD_POD_H */
