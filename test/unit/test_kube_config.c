/* Unit tests for pkg/kube/config: in-cluster, every kubeconfig field, precedence, the errors. */
#include "kube/config.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char err[512];

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static const char *at(const char *name)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/l2lb-kcfg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	err[0] = '\0';
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *blob(const char *(*get)(const struct kube_config *, size_t *),
			const struct kube_config *cfg)
{
	size_t len = 0;
	const char *s = get(cfg, &len);
	if (s)
		ck_assert_uint_eq(strlen(s), len);
	return s ? s : "(none)";
}

/* --- in-cluster --- */

static void sa_files(void)
{
	put("token", "tok-1\n");
	put("ca.crt", "CA PEM\n");
	put("namespace", "metallb-system\n");
}

START_TEST(test_in_cluster)
{
	sa_files();
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct kube_config *cfg = kube_config_in_cluster(dir, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(kube_config_server(cfg), "https://10.96.0.1:443");
	ck_assert_str_eq(kube_config_token(cfg), "tok-1");
	ck_assert_str_eq(blob(kube_config_ca, cfg), "CA PEM\n");
	ck_assert_str_eq(kube_config_namespace(cfg), "metallb-system");
	ck_assert_str_eq(kube_config_source(cfg), "in-cluster");
	ck_assert_int_eq(kube_config_insecure(cfg), 0);
	ck_assert_str_eq(blob(kube_config_client_cert, cfg), "(none)");
	kube_config_free(cfg);
}
END_TEST

START_TEST(test_in_cluster_ipv6_and_default_ns)
{
	put("token", "t");
	put("ca.crt", "CA");
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	struct kube_config *cfg = kube_config_in_cluster(dir, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(kube_config_server(cfg), "https://[fd00::1]:6443");
	ck_assert_str_eq(kube_config_namespace(cfg), "default");
	kube_config_free(cfg);
}
END_TEST

/* Bound tokens rotate: a new file (rename over, as the kubelet does) is picked up. */
START_TEST(test_token_rotation)
{
	sa_files();
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct kube_config *cfg = kube_config_in_cluster(dir, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(kube_config_token(cfg), "tok-1");
	ck_assert_str_eq(kube_config_token(cfg), "tok-1");
	put("token.new", "tok-2\n");
	char to[256];
	snprintf(to, sizeof(to), "%s", at("token"));
	ck_assert_int_eq(rename(at("token.new"), to), 0);
	ck_assert_str_eq(kube_config_token(cfg), "tok-2");
	/* A vanished file keeps the last good token rather than sending none. */
	ck_assert_int_eq(unlink(to), 0);
	ck_assert_str_eq(kube_config_token(cfg), "tok-2");
	kube_config_free(cfg);
}
END_TEST

static const struct {
	const char *host, *port;
	int token, ca;
	const char *err;
} ic_errors[] = {
	{ NULL, "443", 1, 1, "in-cluster: KUBERNETES_SERVICE_HOST is not set" },
	{ "10.0.0.1", NULL, 1, 1, "in-cluster: KUBERNETES_SERVICE_PORT is not set" },
	{ "10.0.0.1", "443", 0, 1, "in-cluster: token file DIR/token: No such file or directory" },
	{ "10.0.0.1", "443", 1, 0, "in-cluster: CA DIR/ca.crt: No such file or directory" },
};

/* Replaces DIR in want with the test directory. */
static const char *expand(const char *want)
{
	static char out[512];
	const char *p = strstr(want, "DIR");
	if (!p)
		return want;
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - want), want, dir, p + 3);
	return out;
}

START_TEST(test_in_cluster_errors)
{
	if (ic_errors[_i].host)
		setenv("KUBERNETES_SERVICE_HOST", ic_errors[_i].host, 1);
	if (ic_errors[_i].port)
		setenv("KUBERNETES_SERVICE_PORT", ic_errors[_i].port, 1);
	if (ic_errors[_i].token)
		put("token", "t");
	if (ic_errors[_i].ca)
		put("ca.crt", "c");
	ck_assert_ptr_null(kube_config_in_cluster(dir, err, sizeof(err)));
	ck_assert_str_eq(err, expand(ic_errors[_i].err));
}
END_TEST

/* --- kubeconfig --- */

/* base64("CA DATA\n"), base64("CERT DATA\n"), base64("KEY DATA\n") */
static const char kubeconfig[] = "apiVersion: v1\n"
				 "kind: Config\n"
				 "current-context: data\n"
				 "clusters:\n"
				 "- name: c-data\n"
				 "  cluster:\n"
				 "    server: https://192.0.2.10:6443/\n"
				 "    certificate-authority-data: Q0EgREFUQQo=\n"
				 "- name: c-file\n"
				 "  cluster:\n"
				 "    server: https://api.example:443\n"
				 "    certificate-authority: ca.pem\n"
				 "- name: c-insecure\n"
				 "  cluster:\n"
				 "    server: https://192.0.2.11:6443\n"
				 "    insecure-skip-tls-verify: true\n"
				 "- name: c-noserver\n"
				 "  cluster:\n"
				 "    insecure-skip-tls-verify: false\n"
				 "- name: c-badca\n"
				 "  cluster:\n"
				 "    server: https://x\n"
				 "    certificate-authority: /nonexistent/ca.pem\n"
				 "- name: c-badb64\n"
				 "  cluster:\n"
				 "    server: https://x\n"
				 "    certificate-authority-data: '***'\n"
				 "contexts:\n"
				 "- name: data\n"
				 "  context: {cluster: c-data, user: u-data, namespace: ns1}\n"
				 "- name: files\n"
				 "  context:\n"
				 "    cluster: c-file\n"
				 "    user: u-file\n"
				 "- name: tokenfile\n"
				 "  context: {cluster: c-insecure, user: u-tokenfile}\n"
				 "- name: nouser\n"
				 "  context: {cluster: c-data}\n"
				 "- name: no-such-cluster\n"
				 "  context: {cluster: c-missing, user: u-data}\n"
				 "- name: no-such-user\n"
				 "  context: {cluster: c-data, user: u-missing}\n"
				 "- name: noserver\n"
				 "  context: {cluster: c-noserver}\n"
				 "- name: badca\n"
				 "  context: {cluster: c-badca}\n"
				 "- name: badb64\n"
				 "  context: {cluster: c-badb64}\n"
				 "- name: halfcert\n"
				 "  context: {cluster: c-data, user: u-half}\n"
				 "- name: nocluster\n"
				 "  context: {user: u-data}\n"
				 "- name: badtokenfile\n"
				 "  context: {cluster: c-data, user: u-badtokenfile}\n"
				 "users:\n"
				 "- name: u-data\n"
				 "  user:\n"
				 "    client-certificate-data: Q0VSVCBEQVRBCg==\n"
				 "    client-key-data: S0VZIERBVEEK\n"
				 "- name: u-file\n"
				 "  user:\n"
				 "    client-certificate: sub/cert.pem\n"
				 "    client-key: sub/key.pem\n"
				 "    token: literal-token\n"
				 "- name: u-tokenfile\n"
				 "  user:\n"
				 "    tokenFile: tokfile\n"
				 "- name: u-half\n"
				 "  user:\n"
				 "    client-certificate-data: Q0VSVCBEQVRBCg==\n"
				 "- name: u-badtokenfile\n"
				 "  user:\n"
				 "    tokenFile: /nonexistent/token\n";

static void kc_files(void)
{
	put("config", kubeconfig);
	put("ca.pem", "CA FILE\n");
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	put("sub/cert.pem", "CERT FILE\n");
	put("sub/key.pem", "KEY FILE\n");
	put("tokfile", "file-token\n");
}

static const struct {
	const char *context;
	const char *server, *ca, *cert, *key, *token, *ns;
	int insecure;
} kc_ok[] = {
	{ NULL, "https://192.0.2.10:6443", "CA DATA\n", "CERT DATA\n", "KEY DATA\n", NULL, "ns1",
	  0 },
	{ "files", "https://api.example:443", "CA FILE\n", "CERT FILE\n", "KEY FILE\n",
	  "literal-token", "default", 0 },
	{ "tokenfile", "https://192.0.2.11:6443", "(none)", "(none)", "(none)", "file-token",
	  "default", 1 },
	{ "nouser", "https://192.0.2.10:6443", "CA DATA\n", "(none)", "(none)", NULL, "default",
	  0 },
};

START_TEST(test_kubeconfig_fields)
{
	kc_files();
	struct kube_config *cfg =
		kube_config_from_kubeconfig(at("config"), kc_ok[_i].context, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(kube_config_server(cfg), kc_ok[_i].server);
	ck_assert_str_eq(blob(kube_config_ca, cfg), kc_ok[_i].ca);
	ck_assert_str_eq(blob(kube_config_client_cert, cfg), kc_ok[_i].cert);
	ck_assert_str_eq(blob(kube_config_client_key, cfg), kc_ok[_i].key);
	const char *tok = kube_config_token(cfg);
	if (kc_ok[_i].token)
		ck_assert_str_eq(tok ? tok : "(null)", kc_ok[_i].token);
	else
		ck_assert_ptr_null(tok);
	ck_assert_str_eq(kube_config_namespace(cfg), kc_ok[_i].ns);
	ck_assert_int_eq(kube_config_insecure(cfg), kc_ok[_i].insecure);
	char src[512];
	snprintf(src, sizeof(src), "kubeconfig %s context %s", at("config"),
		 kc_ok[_i].context ? kc_ok[_i].context : "data");
	ck_assert_str_eq(kube_config_source(cfg), src);
	kube_config_free(cfg);
}
END_TEST

static const struct {
	const char *context;
	const char *err; /* DIR stands for the test directory */
} kc_errors[] = {
	{ "nope", "kubeconfig DIR/config: context \"nope\" not found" },
	{ "no-such-cluster",
	  "kubeconfig DIR/config: cluster \"c-missing\" (context \"no-such-cluster\") not found" },
	{ "no-such-user",
	  "kubeconfig DIR/config: user \"u-missing\" (context \"no-such-user\") not found" },
	{ "noserver", "kubeconfig DIR/config: cluster \"c-noserver\" has no server" },
	{ "badca", "kubeconfig DIR/config: cluster \"c-badca\": certificate-authority "
		   "/nonexistent/ca.pem: No such file or directory" },
	{ "badb64", "kubeconfig DIR/config: cluster \"c-badb64\": certificate-authority-data is "
		    "not valid base64" },
	{ "halfcert", "kubeconfig DIR/config: user \"u-half\" has a client certificate without a "
		      "client key" },
	{ "nocluster", "kubeconfig DIR/config: context \"nocluster\" names no cluster" },
	{ "badtokenfile", "user \"u-badtokenfile\": token file /nonexistent/token: No such file "
			  "or directory" },
};

START_TEST(test_kubeconfig_errors)
{
	kc_files();
	ck_assert_ptr_null(
		kube_config_from_kubeconfig(at("config"), kc_errors[_i].context, err, sizeof(err)));
	ck_assert_str_eq(err, expand(kc_errors[_i].err));
}
END_TEST

START_TEST(test_kubeconfig_file_errors)
{
	ck_assert_ptr_null(kube_config_from_kubeconfig(at("missing"), NULL, err, sizeof(err)));
	ck_assert_str_eq(err, expand("kubeconfig DIR/missing: No such file or directory"));

	put("bad", "clusters: [\n  - {name: x\n");
	ck_assert_ptr_null(kube_config_from_kubeconfig(at("bad"), NULL, err, sizeof(err)));
	ck_assert_msg(strncmp(err, expand("kubeconfig DIR/bad: invalid YAML at line "),
			      strlen(expand("kubeconfig DIR/bad: invalid YAML at line "))) == 0,
		      "%s", err);

	put("nocur", "clusters: []\ncontexts: []\n");
	ck_assert_ptr_null(kube_config_from_kubeconfig(at("nocur"), NULL, err, sizeof(err)));
	ck_assert_str_eq(err,
			 expand("kubeconfig DIR/nocur: no current-context set and none given"));

	put("list", "- a\n- b\n");
	ck_assert_ptr_null(kube_config_from_kubeconfig(at("list"), NULL, err, sizeof(err)));
	ck_assert_str_eq(err, expand("kubeconfig DIR/list: not a YAML mapping"));

	put("empty", "");
	ck_assert_ptr_null(kube_config_from_kubeconfig(at("empty"), NULL, err, sizeof(err)));
	ck_assert_str_eq(err, expand("kubeconfig DIR/empty: not a YAML mapping"));
}
END_TEST

/* The flag beats $KUBECONFIG, which beats in-cluster, which beats ~/.kube/config. */
START_TEST(test_load_precedence)
{
	kc_files();
	sa_files();
	put("other",
	    "current-context: o\nclusters:\n- name: c\n  cluster: {server: https://other}\n"
	    "contexts:\n- name: o\n  context: {cluster: c}\n");
	char home[128];
	snprintf(home, sizeof(home), "%s/home", dir);
	ck_assert_int_eq(mkdir(home, 0700), 0);
	char kube[160];
	snprintf(kube, sizeof(kube), "%s/.kube", home);
	ck_assert_int_eq(mkdir(kube, 0700), 0);
	put("home/.kube/config",
	    "current-context: h\nclusters:\n- name: c\n  cluster: {server: https://home}\n"
	    "contexts:\n- name: h\n  context: {cluster: c}\n");
	setenv("HOME", home, 1);

	char other[256], config[256];
	snprintf(other, sizeof(other), "%s", at("other"));
	snprintf(config, sizeof(config), "%s", at("config"));

	struct kube_config *cfg = kube_config_load(NULL, dir, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(kube_config_server(cfg), "https://home");
	kube_config_free(cfg);

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	cfg = kube_config_load(NULL, dir, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(kube_config_server(cfg), "https://10.96.0.1:443");
	kube_config_free(cfg);

	char env[600];
	snprintf(env, sizeof(env), "%s:%s", other, config);
	setenv("KUBECONFIG", env, 1);
	cfg = kube_config_load(NULL, dir, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(kube_config_server(cfg), "https://other");
	kube_config_free(cfg);

	cfg = kube_config_load(config, dir, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(kube_config_server(cfg), "https://192.0.2.10:6443");
	kube_config_free(cfg);
}
END_TEST

static const struct {
	const char *in;
	const char *out; /* NULL: invalid */
} b64[] = {
	{ "", NULL },
	{ "Zg==", "f" },
	{ "Zm8=", "fo" },
	{ "Zm9v", "foo" },
	{ "Zm9v\nYmFy", "foobar" },
	{ "Zm9", NULL },
	{ "Zm9v!", NULL },
	{ "Zg==Zg==", NULL },
	{ "Z===", NULL },
};

START_TEST(test_base64)
{
	size_t n = 0;
	unsigned char *out = kube_base64_decode(b64[_i].in, strlen(b64[_i].in), &n);
	if (!b64[_i].out) {
		ck_assert_msg(out == NULL, "\"%s\" accepted", b64[_i].in);
		return;
	}
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(n, strlen(b64[_i].out));
	ck_assert_int_eq(memcmp(out, b64[_i].out, n), 0);
	free(out);
}
END_TEST

static Suite *kube_config_suite(void)
{
	Suite *s = suite_create("kube_config");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_in_cluster);
	tcase_add_test(tc, test_in_cluster_ipv6_and_default_ns);
	tcase_add_test(tc, test_token_rotation);
	tcase_add_loop_test(tc, test_in_cluster_errors, 0,
			    (int)(sizeof(ic_errors) / sizeof(ic_errors[0])));
	tcase_add_loop_test(tc, test_kubeconfig_fields, 0, (int)(sizeof(kc_ok) / sizeof(kc_ok[0])));
	tcase_add_loop_test(tc, test_kubeconfig_errors, 0,
			    (int)(sizeof(kc_errors) / sizeof(kc_errors[0])));
	tcase_add_test(tc, test_kubeconfig_file_errors);
	tcase_add_test(tc, test_load_precedence);
	tcase_add_loop_test(tc, test_base64, 0, (int)(sizeof(b64) / sizeof(b64[0])));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(kube_config_suite)
