/* kube/config: where the Kubernetes API is and how to authenticate (in-cluster or kubeconfig). */
#ifndef L2LB_KUBE_CONFIG_H
#define L2LB_KUBE_CONFIG_H

#include <stddef.h>

/*
 * A loaded configuration: the server URL, the CA and client certificate as in-memory PEM, and a
 * bearer token (literal, or a file re-read whenever it changes, since bound service-account
 * tokens rotate). Loading reads every file once, so a missing or unreadable one fails at start
 * with one line naming it, not at the first request.
 *
 * Every loader returns an owned config or NULL with a one-line message in err[0..errcap).
 */
struct kube_config;

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/*
 * In-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT from the environment, and token,
 * ca.crt and namespace in sa_dir (NULL: KUBE_SA_DIR).
 */
struct kube_config *kube_config_in_cluster(const char *sa_dir, char *err, size_t errcap);

/* A kubeconfig file; context NULL means its current-context. */
struct kube_config *kube_config_from_kubeconfig(const char *path, const char *context, char *err,
						size_t errcap);

/*
 * What the daemons and tools call: an explicit kubeconfig path if given, else $KUBECONFIG (its
 * first entry), else in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
 */
struct kube_config *kube_config_load(const char *kubeconfig, const char *sa_dir, char *err,
				     size_t errcap);

void kube_config_free(struct kube_config *cfg);

/* "https://host:port" (no trailing slash). */
const char *kube_config_server(const struct kube_config *cfg);
/* PEM bytes of the CA bundle, or NULL (use the system's CAs); *len set. */
const char *kube_config_ca(const struct kube_config *cfg, size_t *len);
/* PEM client certificate and key, or NULL. */
const char *kube_config_client_cert(const struct kube_config *cfg, size_t *len);
const char *kube_config_client_key(const struct kube_config *cfg, size_t *len);
/* True when insecure-skip-tls-verify was set: the client warns loudly. */
int kube_config_insecure(const struct kube_config *cfg);
/* The default namespace (context namespace, service-account namespace, else "default"). */
const char *kube_config_namespace(const struct kube_config *cfg);
/* Where this came from, for logs: "in-cluster" or "kubeconfig PATH context NAME". */
const char *kube_config_source(const struct kube_config *cfg);

/*
 * The bearer token, or NULL. With a token file, the file is re-read when its inode, size or
 * mtime changed; a failed re-read keeps the previous token. Valid until the next call.
 */
const char *kube_config_token(struct kube_config *cfg);

/* Decodes standard base64 (whitespace ignored) into an owned buffer; NULL when invalid. */
unsigned char *kube_base64_decode(const char *in, size_t inlen, size_t *outlen);

#endif
