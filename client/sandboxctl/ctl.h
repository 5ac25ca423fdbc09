/*
 * ctl.h: the pieces of sandboxctl, private to the program.
 *
 *	sandboxctl.c	main, global options, the command table and usage;
 *	ctl_cmd.c	one function per command;
 *	ctl_args.c	command-line options of the commands;
 *	ctl_build.c	sandbox metadata (spec, labels, extensions) from them;
 *	ctl_output.c	errors, records and JSON on stdout and stderr.
 *
 * sandboxctl is a program, not a library: it uses common/'s xmalloc and
 * exits when memory runs out.
 */
#ifndef SANDBOXD_CTL_H
#define SANDBOXD_CTL_H

#include <stdbool.h>
#include <stdio.h>

#include <getopt.h>
#include <jansson.h>

#include "sbc.h"

#define STOP_TIMEOUT	10

/* Global options and the connection. */
struct ctx {
	const char	*cmd;
	char		 socket[1024];
	const char	*ns;
	int		 timeout_secs;
	bool		 json;
	struct sbc	*c;
};

/* A command. */
struct cmd_entry {
	const char	*name;
	const char	*args;
	const char	*help;
	const char	*options;
	int		 (*exec)(struct ctx *, int, char **);
};

/* Options of the commands that build sandbox metadata. */
struct sb_args {
	const char	*runtime;
	const char	*spec_file;
	const char	*netns;
	const char	*sandboxer;
	const char	*cwd;
	char		**labels;
	size_t		 nlabels;
	char		**exts;
	size_t		 nexts;
	char		**envs;
	size_t		 nenvs;
	char		**fields;
	size_t		 nfields;
	char		**argv;		/* the exec runtime's command */
	size_t		 argc;
};

/* Metadata built from sb_args, and what it owns. */
struct sb_build {
	struct sbc_meta		 meta;
	struct sbc_label	*labels;
	struct sbc_extension	*exts;
	size_t			 nexts;
	char			*spec;
	size_t			 speclen;
	char			**strs;		/* strings to free */
	size_t			 nstrs;
};

/* Which sb_args options a command accepts. */
#define SBA_RUNTIME	0x01
#define SBA_LABEL	0x02
#define SBA_SPEC	0x04
#define SBA_EXT		0x08
#define SBA_NETNS	0x10
#define SBA_FIELD	0x20
#define SBA_EXEC	0x40	/* --env, --cwd, -- COMMAND */
#define SBA_SANDBOXER	0x80

/* sandboxctl.c */
const struct cmd_entry *ctl_find_cmd(const char *);
int	ctl_usage_cmd(const struct cmd_entry *, FILE *, int);
int	ctl_connect(struct ctx *);
int	ctl_ready(struct ctx *, int);

/* ctl_cmd.c */
int	cmd_create(struct ctx *, int, char **);
int	cmd_get(struct ctx *, int, char **);
int	cmd_list(struct ctx *, int, char **);
int	cmd_update(struct ctx *, int, char **);
int	cmd_delete(struct ctx *, int, char **);
int	cmd_start(struct ctx *, int, char **);
int	cmd_stop(struct ctx *, int, char **);
int	cmd_wait(struct ctx *, int, char **);
int	cmd_status(struct ctx *, int, char **);
int	cmd_shutdown(struct ctx *, int, char **);
int	cmd_metrics(struct ctx *, int, char **);
int	cmd_platform(struct ctx *, int, char **);
int	cmd_run(struct ctx *, int, char **);
int	cmd_version(struct ctx *, int, char **);
int	cmd_ps(struct ctx *, int, char **);
int	cmd_reexec(struct ctx *, int, char **);

/* ctl_args.c */
extern const struct option args_help_only[];
void	args_push(char ***, size_t *, char *);
int	args_parse_secs(const char *, int *);
int	args_parse_sb(const struct cmd_entry *, int, int, char **,
	    const char **, struct sb_args *);
int	args_parse_id(const struct cmd_entry *, int, char **,
	    const struct option *, const char *, const char **,
	    int (*)(int, const char *, void *), void *, bool);
int	args_parse_plain(struct ctx *, int, char **, const char **);
int	args_flag_set(int, const char *, void *);
void	args_update_fields(const struct sb_args *, char ***, size_t *);
void	args_free(struct sb_args *);

/* ctl_build.c */
int	build_connect(struct ctx *, const char *, const struct sb_args *,
	    bool, struct sb_build *);
void	build_free(struct sb_build *);

/* ctl_output.c */
int	out_fail(const struct ctx *, const char *, struct sbc_error *);
int	out_fail_local(const struct ctx *, int, const char *, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
int	out_json_print(json_t *);
void	out_meta(const struct ctx *, struct sbc_meta *);
void	out_list(const struct ctx *, const struct sbc_meta *, size_t, bool);
void	out_start(const struct ctx *, const char *,
	    const struct sbc_start_info *);
void	out_wait(const struct ctx *, const char *, uint32_t,
	    const struct timespec *);
void	out_status(const struct ctx *, const struct sbc_status *);
void	out_metrics(const struct ctx *, const struct sbc_metrics *);
void	out_platform(const struct ctx *, const struct sbc_platform *);
void	out_run(const struct ctx *, const char *, uint32_t);
void	out_instances(const struct ctx *, const struct sbc_instance *,
	    size_t);

#endif /* SANDBOXD_CTL_H */
