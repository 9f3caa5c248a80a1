/* kube/config: in-cluster and kubeconfig loading (libyaml), token file rotation. */
#include "kube/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* Files we read whole (CA bundles, keys, tokens) are small; refuse anything absurd. */
#define FILE_MAX (4u << 20)

struct kube_config {
	char *server;
	char *ca;
	size_t ca_len;
	char *cert;
	size_t cert_len;
	char *key;
	size_t key_len;
	int insecure;
	char *ns;
	char *source;
	char *token;
	char *token_file;
	struct stat token_st;
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t cap, const char *fmt,
							  ...)
{
	if (!err || cap == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

void kube_config_free(struct kube_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->server);
	free(cfg->ca);
	free(cfg->cert);
	if (cfg->key) {
		explicit_bzero(cfg->key, cfg->key_len);
		free(cfg->key);
	}
	free(cfg->ns);
	free(cfg->source);
	if (cfg->token) {
		explicit_bzero(cfg->token, strlen(cfg->token));
		free(cfg->token);
	}
	free(cfg->token_file);
	free(cfg);
}

/* Reads a whole file into an owned NUL-terminated buffer; -1 with errno set on failure. */
static int read_file(const char *path, char **out, size_t *len, struct stat *st_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > FILE_MAX) {
		close(fd);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > FILE_MAX) {
				free(buf);
				close(fd);
				errno = EFBIG;
				return -1;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	if (st_out)
		*st_out = st;
	return 0;
}

static void trim_right(char *s)
{
	size_t n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

unsigned char *kube_base64_decode(const char *in, size_t inlen, size_t *outlen)
{
	unsigned char *out = malloc(inlen / 4 * 3 + 3);
	if (!out)
		return NULL;
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	size_t n = 0, sym = 0;
	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		int v;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			sym++;
			continue;
		}
		if (pad) /* data after padding */
			goto bad;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else
			goto bad;
		sym++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (sym % 4 != 0 || pad > 2 || sym == 0)
		goto bad;
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

static struct kube_config *config_alloc(void)
{
	return calloc(1, sizeof(struct kube_config));
}

/* Loads a token file, remembering what it looked like so a change can be noticed. */
static int load_token_file(struct kube_config *cfg, const char *path, char *err, size_t errcap,
			   const char *what)
{
	char *tok;
	struct stat st;
	if (read_file(path, &tok, NULL, &st) < 0) {
		set_err(err, errcap, "%s: token file %s: %s", what, path, strerror(errno));
		return -1;
	}
	trim_right(tok);
	cfg->token = tok;
	cfg->token_st = st;
	cfg->token_file = strdup(path);
	if (!cfg->token_file) {
		set_err(err, errcap, "%s: out of memory", what);
		return -1;
	}
	return 0;
}

const char *kube_config_token(struct kube_config *cfg)
{
	if (!cfg->token_file)
		return cfg->token;
	struct stat st;
	if (stat(cfg->token_file, &st) == 0 &&
	    (st.st_ino != cfg->token_st.st_ino || st.st_size != cfg->token_st.st_size ||
	     st.st_mtim.tv_sec != cfg->token_st.st_mtim.tv_sec ||
	     st.st_mtim.tv_nsec != cfg->token_st.st_mtim.tv_nsec)) {
		char *tok;
		struct stat st2;
		if (read_file(cfg->token_file, &tok, NULL, &st2) == 0) {
			trim_right(tok);
			if (cfg->token) {
				explicit_bzero(cfg->token, strlen(cfg->token));
				free(cfg->token);
			}
			cfg->token = tok;
			cfg->token_st = st2;
		}
	}
	return cfg->token;
}

static int join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

struct kube_config *kube_config_in_cluster(const char *sa_dir, char *err, size_t errcap)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[4096];
	if (!sa_dir)
		sa_dir = KUBE_SA_DIR;
	if (!host || !*host) {
		set_err(err, errcap, "in-cluster: KUBERNETES_SERVICE_HOST is not set");
		return NULL;
	}
	if (!port || !*port) {
		set_err(err, errcap, "in-cluster: KUBERNETES_SERVICE_PORT is not set");
		return NULL;
	}
	struct kube_config *cfg = config_alloc();
	if (!cfg) {
		set_err(err, errcap, "in-cluster: out of memory");
		return NULL;
	}
	int v6 = strchr(host, ':') != NULL;
	if (asprintf(&cfg->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) <
	    0) {
		cfg->server = NULL;
		goto oom;
	}
	cfg->source = strdup("in-cluster");
	if (!cfg->source)
		goto oom;
	if (join(path, sizeof(path), sa_dir, "token") < 0)
		goto toolong;
	if (load_token_file(cfg, path, err, errcap, "in-cluster") < 0)
		goto fail;
	if (join(path, sizeof(path), sa_dir, "ca.crt") < 0)
		goto toolong;
	if (read_file(path, &cfg->ca, &cfg->ca_len, NULL) < 0) {
		set_err(err, errcap, "in-cluster: CA %s: %s", path, strerror(errno));
		goto fail;
	}
	if (join(path, sizeof(path), sa_dir, "namespace") < 0)
		goto toolong;
	if (read_file(path, &cfg->ns, NULL, NULL) == 0) {
		trim_right(cfg->ns);
		if (!*cfg->ns) {
			free(cfg->ns);
			cfg->ns = NULL;
		}
	}
	if (!cfg->ns && !(cfg->ns = strdup("default")))
		goto oom;
	return cfg;
toolong:
	set_err(err, errcap, "in-cluster: directory name too long: %s", sa_dir);
	goto fail;
oom:
	set_err(err, errcap, "in-cluster: out of memory");
fail:
	kube_config_free(cfg);
	return NULL;
}

/* --- kubeconfig --- */

struct kc {
	yaml_document_t doc;
	const char *path;
	char dir[4096]; /* relative file names resolve against the kubeconfig's directory */
	char *err;
	size_t errcap;
};

static yaml_node_t *map_get(struct kc *k, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(&k->doc, p->key);
		if (kn && kn->type == YAML_SCALAR_NODE && strlen(key) == kn->data.scalar.length &&
		    memcmp(kn->data.scalar.value, key, kn->data.scalar.length) == 0)
			return yaml_document_get_node(&k->doc, p->value);
	}
	return NULL;
}

/* A scalar's text (NUL-terminated by libyaml), or NULL when absent or not a scalar. */
static const char *scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static const char *map_str(struct kc *k, yaml_node_t *map, const char *key)
{
	const char *s = scalar(map_get(k, map, key));
	return s && *s ? s : NULL;
}

/* Finds {name: NAME, FIELD: {...}} in the sequence `list` and returns the FIELD mapping. */
static yaml_node_t *named(struct kc *k, const char *list, const char *field, const char *name)
{
	yaml_node_t *seq = map_get(k, yaml_document_get_root_node(&k->doc), list);
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *e = yaml_document_get_node(&k->doc, *i);
		const char *n = map_str(k, e, "name");
		if (n && strcmp(n, name) == 0) {
			yaml_node_t *f = map_get(k, e, field);
			return f && f->type == YAML_MAPPING_NODE ? f : NULL;
		}
	}
	return NULL;
}

/* Returns 0, or -1 with err set when the name is too long. */
static int resolve(struct kc *k, const char *file, char *out, size_t cap)
{
	int n;
	if (file[0] == '/' || !k->dir[0])
		n = snprintf(out, cap, "%s", file);
	else
		n = snprintf(out, cap, "%s/%s", k->dir, file);
	if (n < 0 || (size_t)n >= cap) {
		set_err(k->err, k->errcap, "kubeconfig %s: file name too long: %s", k->path, file);
		return -1;
	}
	return 0;
}

/*
 * Fills *out from FIELD-data (base64) or FIELD (a file name), whichever is set; the -data form
 * wins, as in kubectl. Returns 0 (also when neither is set), -1 with err set.
 */
static int load_blob(struct kc *k, yaml_node_t *map, const char *field, const char *owner,
		     char **out, size_t *len)
{
	char key[64];
	snprintf(key, sizeof(key), "%s-data", field);
	const char *data = map_str(k, map, key);
	if (data) {
		size_t n;
		unsigned char *b = kube_base64_decode(data, strlen(data), &n);
		if (!b) {
			set_err(k->err, k->errcap, "kubeconfig %s: %s: %s is not valid base64",
				k->path, owner, key);
			return -1;
		}
		char *s = realloc(b, n + 1);
		if (!s) {
			free(b);
			set_err(k->err, k->errcap, "kubeconfig %s: out of memory", k->path);
			return -1;
		}
		s[n] = '\0';
		*out = s;
		*len = n;
		return 0;
	}
	const char *file = map_str(k, map, field);
	if (!file)
		return 0;
	char path[4096];
	if (resolve(k, file, path, sizeof(path)) < 0)
		return -1;
	if (read_file(path, out, len, NULL) < 0) {
		set_err(k->err, k->errcap, "kubeconfig %s: %s: %s %s: %s", k->path, owner, field,
			path, strerror(errno));
		return -1;
	}
	return 0;
}

static int parse_bool(const char *s)
{
	return s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0 ||
		     strcmp(s, "yes") == 0);
}

static int kc_fill(struct kc *k, struct kube_config *cfg, const char *context)
{
	char owner[512];
	yaml_node_t *root = yaml_document_get_root_node(&k->doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		set_err(k->err, k->errcap, "kubeconfig %s: not a YAML mapping", k->path);
		return -1;
	}
	if (!context)
		context = map_str(k, root, "current-context");
	if (!context) {
		set_err(k->err, k->errcap, "kubeconfig %s: no current-context set and none given",
			k->path);
		return -1;
	}
	yaml_node_t *ctx = named(k, "contexts", "context", context);
	if (!ctx) {
		set_err(k->err, k->errcap, "kubeconfig %s: context \"%s\" not found", k->path,
			context);
		return -1;
	}
	const char *cluster_name = map_str(k, ctx, "cluster");
	const char *user_name = map_str(k, ctx, "user");
	const char *ns = map_str(k, ctx, "namespace");
	if (!cluster_name) {
		set_err(k->err, k->errcap, "kubeconfig %s: context \"%s\" names no cluster",
			k->path, context);
		return -1;
	}
	yaml_node_t *cl = named(k, "clusters", "cluster", cluster_name);
	if (!cl) {
		set_err(k->err, k->errcap,
			"kubeconfig %s: cluster \"%s\" (context \"%s\") not found", k->path,
			cluster_name, context);
		return -1;
	}
	const char *server = map_str(k, cl, "server");
	if (!server) {
		set_err(k->err, k->errcap, "kubeconfig %s: cluster \"%s\" has no server", k->path,
			cluster_name);
		return -1;
	}
	cfg->server = strdup(server);
	if (!cfg->server)
		goto oom;
	size_t sl = strlen(cfg->server);
	while (sl > 0 && cfg->server[sl - 1] == '/')
		cfg->server[--sl] = '\0';
	cfg->insecure = parse_bool(map_str(k, cl, "insecure-skip-tls-verify"));
	snprintf(owner, sizeof(owner), "cluster \"%s\"", cluster_name);
	if (load_blob(k, cl, "certificate-authority", owner, &cfg->ca, &cfg->ca_len) < 0)
		return -1;

	if (user_name) {
		yaml_node_t *u = named(k, "users", "user", user_name);
		if (!u) {
			set_err(k->err, k->errcap,
				"kubeconfig %s: user \"%s\" (context \"%s\") not found", k->path,
				user_name, context);
			return -1;
		}
		snprintf(owner, sizeof(owner), "user \"%s\"", user_name);
		if (load_blob(k, u, "client-certificate", owner, &cfg->cert, &cfg->cert_len) < 0 ||
		    load_blob(k, u, "client-key", owner, &cfg->key, &cfg->key_len) < 0)
			return -1;
		if (!cfg->cert != !cfg->key) {
			set_err(k->err, k->errcap,
				"kubeconfig %s: user \"%s\" has a client %s without a client %s",
				k->path, user_name, cfg->cert ? "certificate" : "key",
				cfg->cert ? "key" : "certificate");
			return -1;
		}
		const char *token = map_str(k, u, "token");
		const char *token_file = map_str(k, u, "tokenFile");
		if (token) {
			cfg->token = strdup(token);
			if (!cfg->token)
				goto oom;
		} else if (token_file) {
			char path[4096];
			if (resolve(k, token_file, path, sizeof(path)) < 0)
				return -1;
			if (load_token_file(cfg, path, k->err, k->errcap, owner) < 0)
				return -1;
		}
	}
	cfg->ns = strdup(ns ? ns : "default");
	if (asprintf(&cfg->source, "kubeconfig %s context %s", k->path, context) < 0) {
		cfg->source = NULL;
		goto oom;
	}
	if (!cfg->ns)
		goto oom;
	return 0;
oom:
	set_err(k->err, k->errcap, "kubeconfig %s: out of memory", k->path);
	return -1;
}

struct kube_config *kube_config_from_kubeconfig(const char *path, const char *context, char *err,
						size_t errcap)
{
	struct kc k;
	memset(&k, 0, sizeof(k));
	k.path = path;
	k.err = err;
	k.errcap = errcap;
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(k.dir, sizeof(k.dir), "%.*s", (int)(slash - path), path);
	if (slash == path)
		snprintf(k.dir, sizeof(k.dir), "/");

	char *text;
	size_t len;
	if (read_file(path, &text, &len, NULL) < 0) {
		set_err(err, errcap, "kubeconfig %s: %s", path, strerror(errno));
		return NULL;
	}
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		set_err(err, errcap, "kubeconfig %s: out of memory", path);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &k.doc)) {
		set_err(err, errcap, "kubeconfig %s: invalid YAML at line %zu: %s", path,
			parser.problem_mark.line + 1, parser.problem ? parser.problem : "?");
		yaml_parser_delete(&parser);
		free(text);
		return NULL;
	}
	yaml_parser_delete(&parser);
	free(text);

	struct kube_config *cfg = config_alloc();
	if (!cfg) {
		set_err(err, errcap, "kubeconfig %s: out of memory", path);
		yaml_document_delete(&k.doc);
		return NULL;
	}
	if (kc_fill(&k, cfg, context) < 0) {
		kube_config_free(cfg);
		cfg = NULL;
	}
	yaml_document_delete(&k.doc);
	return cfg;
}

struct kube_config *kube_config_load(const char *kubeconfig, const char *sa_dir, char *err,
				     size_t errcap)
{
	if (kubeconfig && *kubeconfig)
		return kube_config_from_kubeconfig(kubeconfig, NULL, err, errcap);
	const char *env = getenv("KUBECONFIG");
	if (env && *env) {
		/* Only the first file of a list: merging several is not supported. */
		char path[4096];
		size_t n = strcspn(env, ":");
		if (n >= sizeof(path)) {
			set_err(err, errcap, "$KUBECONFIG: file name too long");
			return NULL;
		}
		memcpy(path, env, n);
		path[n] = '\0';
		return kube_config_from_kubeconfig(path, NULL, err, errcap);
	}
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	if (host && *host)
		return kube_config_in_cluster(sa_dir, err, errcap);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		set_err(err, errcap,
			"no kubeconfig: not in a cluster, $KUBECONFIG and $HOME are not set");
		return NULL;
	}
	char path[4096];
	if (join(path, sizeof(path), home, ".kube/config") < 0) {
		set_err(err, errcap, "no kubeconfig: $HOME too long");
		return NULL;
	}
	return kube_config_from_kubeconfig(path, NULL, err, errcap);
}

const char *kube_config_server(const struct kube_config *cfg)
{
	return cfg->server;
}

const char *kube_config_ca(const struct kube_config *cfg, size_t *len)
{
	*len = cfg->ca_len;
	return cfg->ca;
}

const char *kube_config_client_cert(const struct kube_config *cfg, size_t *len)
{
	*len = cfg->cert_len;
	return cfg->cert;
}

const char *kube_config_client_key(const struct kube_config *cfg, size_t *len)
{
	*len = cfg->key_len;
	return cfg->key;
}

int kube_config_insecure(const struct kube_config *cfg)
{
	return cfg->insecure;
}

const char *kube_config_namespace(const struct kube_config *cfg)
{
	return cfg->ns;
}

const char *kube_config_source(const struct kube_config *cfg)
{
	return cfg->source;
}
