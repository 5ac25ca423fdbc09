/*
 * sandboxctl.c: the command-line client of sandboxd: global options, the
 * command table, usage, and main.
 *
 * One command per Store and Controller call, plus run (create + start,
 * undone on failure).  Output is a human table, or JSON with --output json.
 * Errors name the command, the sandbox and the daemon's reason; the exit
 * code tells scripts what kind of failure it was (see usage() and
 * sandboxctl(1)).  ctl.h lists the other pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static int	cmd_help(struct ctx *, int, char **);

#define O_RUNTIME "  -r, --runtime NAME      runtime (io.sandboxd.pause.v1, " \
		  "io.sandboxd.exec.v1)\n"
#define O_LABEL   "  -l, --label K=V         a label (repeatable)\n"
#define O_SPEC    "      --spec FILE         OCI runtime spec JSON (- for " \
		  "stdin)\n"
#define O_EXT     "  -e, --extension NAME=TYPEURL:FILE\n" \
		  "                          an extension from a file " \
		  "(repeatable)\n"
#define O_EXEC    "  -E, --env K=V           environment of COMMAND " \
		  "(repeatable)\n" \
		  "      --cwd DIR           working directory of COMMAND " \
		  "(default /)\n" \
		  "  -- COMMAND [ARG...]     build a spec that runs COMMAND; " \
		  "the runtime\n" \
		  "                          then defaults to " RUNTIME_EXEC "\n"
#define O_SBOXER  "      --sandboxer NAME    the sandboxer to record\n"

static const struct cmd_entry cmd_table[] = {
	{ "create", "ID [options] [-- COMMAND [ARG...]]",
	    "store a new sandbox's metadata (Store.Create)",
	    O_RUNTIME O_LABEL O_SPEC O_EXT O_SBOXER O_EXEC, cmd_create },
	{ "get", "ID", "show a sandbox's metadata (Store.Get)", "", cmd_get },
	{ "list", "[--filter F]... [--quiet]",
	    "list sandboxes, sorted by id (Store.List)",
	    "  -f, --filter F          a filter: terms joined by ',' must all "
	    "match;\n"
	    "                          several filters are OR-ed. Terms: "
	    "id==x,\n"
	    "                          labels.k!=v, labels.\"a.b\"~=regex, "
	    "runtime.name,\n"
	    "                          sandboxer, extensions.NAME "
	    "(present)\n"
	    "  -q, --quiet             print only the ids\n", cmd_list },
	{ "update", "ID [options]", "update metadata (Store.Update)",
	    O_RUNTIME
	    "  -l, --label K=V         set label K (K= or K alone deletes "
	    "it)\n"
	    O_SPEC O_EXT
	    "  -f, --field PATH        a field path to update (repeatable); "
	    "default:\n"
	    "                          the paths the other options imply\n",
	    cmd_update },
	{ "delete", "ID", "delete a sandbox's metadata (Store.Delete)", "",
	    cmd_delete },
	{ "start", "ID", "start a created sandbox; print its pid "
	    "(Controller.Start)", "", cmd_start },
	{ "stop", "ID [--timeout SECS]", "stop a sandbox (Controller.Stop)",
	    "  -t, --timeout SECS      SIGTERM, then SIGKILL after SECS "
	    "(default 10;\n"
	    "                          0 kills at once)\n", cmd_stop },
	{ "wait", "ID", "wait for a sandbox to exit; print its exit status "
	    "(Controller.Wait)", "", cmd_wait },
	{ "status", "ID [--verbose]", "show state, pid and times "
	    "(Controller.Status)",
	    "  -v, --verbose           also show the daemon's info map\n",
	    cmd_status },
	{ "shutdown", "ID [--delete]", "kill and forget a sandbox's instance "
	    "(Controller.Shutdown)",
	    "  -d, --delete            then delete its metadata too "
	    "(Store.Delete)\n", cmd_shutdown },
	{ "metrics", "ID", "show CPU, memory and process count "
	    "(Controller.Metrics)", "", cmd_metrics },
	{ "platform", "ID", "show the platform a sandbox runs on "
	    "(Controller.Platform)",
	    "", cmd_platform },
	{ "run", "ID [options] [-- COMMAND [ARG...]]",
	    "create and start a sandbox; print its id and pid",
	    O_RUNTIME O_LABEL O_SPEC O_EXT
	    "      --netns PATH        join this network namespace\n"
	    O_SBOXER O_EXEC, cmd_run },
	{ "ps", "", "list every sandbox instance the daemon runs, in every "
	    "namespace,\n  with or without Store metadata "
	    "(sandboxd.v1.Admin/ListInstances)", "", cmd_ps },
	{ "reexec", "", "have the daemon execute itself again (an upgraded "
	    "binary),\n  keeping every connection and pending call; print "
	    "its pid\n  (sandboxd.v1.Admin/Reexec)", "", cmd_reexec },
	{ "version", "", "print the version", "", cmd_version },
	{ "help", "[COMMAND]", "show help", "", cmd_help },
};

/* The command named name, NULL if none. */
const struct cmd_entry *
ctl_find_cmd(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++) {
		if (strcmp(cmd_table[i].name, name) == 0)
			return (&cmd_table[i]);
	}
	return (NULL);
}

/* Print a command's usage (in full when asked for); return code. */
int
ctl_usage_cmd(const struct cmd_entry *ce, FILE *f, int code)
{
	fprintf(f, "usage: sandboxctl [global options] %s %s\n", ce->name,
	    ce->args);
	if (code != SBC_EXIT_OK) {
		fprintf(f, "Try 'sandboxctl %s --help'.\n", ce->name);
		return (code);
	}
	fprintf(f, "\n%s.\n", ce->help);
	if (*ce->options != '\0')
		fprintf(f, "\noptions:\n%s", ce->options);
	return (code);
}

/* Print the tool's usage (in full when asked for); return code. */
static int
usage(FILE *f, int code)
{
	size_t	i;

	fprintf(f, "usage: sandboxctl [--socket PATH] [--namespace NS] "
	    "[--timeout SECS]\n                  [--output table|json] "
	    "COMMAND [ARGS...]\n");
	if (code != SBC_EXIT_OK) {
		fprintf(f, "Try 'sandboxctl --help'.\n");
		return (code);
	}
	fprintf(f, "\nglobal options:\n"
	    "  -s, --socket PATH     the daemon's socket (default: "
	    "$SANDBOXD_SOCKET,\n"
	    "                        else /run/sandboxd/sandboxd.sock, or\n"
	    "                        $XDG_RUNTIME_DIR/sandboxd/sandboxd.sock "
	    "for non-root)\n"
	    "  -n, --namespace NS    containerd namespace (default: "
	    "$SANDBOXD_NAMESPACE\n"
	    "                        or \"default\")\n"
	    "  -t, --timeout SECS    give up on each call after SECS (default "
	    "0: never)\n"
	    "  -o, --output FORMAT   table (default) or json\n"
	    "\ncommands:\n");
	for (i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
		fprintf(f, "  %-9s %s\n", cmd_table[i].name, cmd_table[i].help);
	fprintf(f, "\n'sandboxctl COMMAND --help' shows a command's "
	    "options.\n\nexit status: 0 ok, 1 other error, 2 usage error, "
	    "3 not found,\n  4 invalid argument, 5 already exists, 6 failed "
	    "precondition,\n  7 unavailable or cannot connect, 8 deadline "
	    "exceeded\n");
	return (code);
}

/* help [COMMAND]. */
static int
cmd_help(struct ctx *x, int argc, char **argv)
{
	const struct cmd_entry	*ce;

	(void)x;
	if (argc < 2)
		return (usage(stdout, SBC_EXIT_OK));
	if ((ce = ctl_find_cmd(argv[1])) == NULL) {
		fprintf(stderr, "sandboxctl: unknown command: %s\n", argv[1]);
		return (SBC_EXIT_USAGE);
	}
	return (ctl_usage_cmd(ce, stdout, SBC_EXIT_OK));
}

/* Connect with the global options. */
int
ctl_connect(struct ctx *x)
{
	char	*cause = NULL;

	if ((x->c = sbc_connect(x->socket, &cause)) == NULL) {
		fprintf(stderr, "sandboxctl: cannot connect to sandboxd: %s\n",
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return (SBC_EXIT_UNAVAILABLE);
	}
	if (sbc_set_namespace(x->c, x->ns) != 0) {
		fprintf(stderr, "sandboxctl: out of memory\n");
		return (SBC_EXIT_ERROR);
	}
	sbc_set_timeout(x->c, x->timeout_secs * 1000);
	return (0);
}

/*
 * Connect once the arguments are parsed: r is the parser's answer.  -1 to
 * go on, else the exit code (help, usage error, cannot connect).
 */
int
ctl_ready(struct ctx *x, int r)
{
	if (r >= 0)
		return (r);
	if ((r = ctl_connect(x)) != 0)
		return (r);
	return (-1);
}

/* Parse the global options; -1 to go on, else the exit code. */
static int
parse_global(struct ctx *x, int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int				ch;

	while ((ch = getopt_long(argc, argv, "+s:n:t:o:hV", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			snprintf(x->socket, sizeof x->socket, "%s", optarg);
			break;
		case 'n':
			x->ns = optarg;
			break;
		case 't':
			if (args_parse_secs(optarg, &x->timeout_secs) != 0) {
				fprintf(stderr, "sandboxctl: --timeout: not a "
				    "number of seconds: %s\n", optarg);
				return (SBC_EXIT_USAGE);
			}
			break;
		case 'o':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "table") != 0) {
				fprintf(stderr, "sandboxctl: --output: want "
				    "table or json, not %s\n", optarg);
				return (SBC_EXIT_USAGE);
			}
			x->json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			return (usage(stdout, SBC_EXIT_OK));
		case 'V':
			printf("sandboxctl %s\n", sbc_version());
			return (SBC_EXIT_OK);
		default:
			return (usage(stderr, SBC_EXIT_USAGE));
		}
	}
	return (-1);
}

/* Parse the global options, then run the command. */
int
main(int argc, char **argv)
{
	struct ctx		 x;
	const struct cmd_entry	*ce;
	const char		*env;
	int			 r;

	memset(&x, 0, sizeof x);
	sbc_default_socket(x.socket, sizeof x.socket);
	env = getenv("SANDBOXD_NAMESPACE");
	x.ns = env != NULL && *env != '\0' ? env : SBC_DEFAULT_NAMESPACE;
	if ((r = parse_global(&x, argc, argv)) >= 0)
		return (r);
	if (optind >= argc)
		return (usage(stderr, SBC_EXIT_USAGE));
	if ((ce = ctl_find_cmd(argv[optind])) == NULL) {
		fprintf(stderr, "sandboxctl: unknown command: %s\n",
		    argv[optind]);
		return (usage(stderr, SBC_EXIT_USAGE));
	}
	x.cmd = ce->name;
	r = ce->exec(&x, argc - optind, argv + optind);
	sbc_close(x.c);
	fflush(stdout);
	return (r);
}
