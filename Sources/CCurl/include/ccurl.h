// Typed entry points into libcurl for Swift, and the OpenSSL hooks the prober needs.
//
// curl_easy_setopt/getinfo are variadic, which Swift cannot call: each wrapper below fixes one
// argument type. The TLS capture records what the handshake showed (versions, certificates,
// verification errors) from inside OpenSSL's own callbacks, so the facts are there even when
// verification fails and the connection is already gone by the time the transfer ends.
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>
#include <stdint.h>

// MARK: typed setopt / getinfo

static inline CURLcode ccurl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }

typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t count, void *userdata);
typedef int (*ccurl_sockopt_callback)(void *userdata, curl_socket_t fd, curlsocktype purpose);
typedef int (*ccurl_prereq_callback)(void *userdata, char *primary_ip, char *local_ip, int primary_port, int local_port);
typedef curl_socket_t (*ccurl_opensocket_callback)(void *userdata, curlsocktype purpose, struct curl_sockaddr *address);

static inline CURLcode ccurl_setopt_write_callback(CURL *h, ccurl_data_callback cb) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb); }
static inline CURLcode ccurl_setopt_header_callback(CURL *h, ccurl_data_callback cb) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb); }
static inline CURLcode ccurl_setopt_sockopt_callback(CURL *h, ccurl_sockopt_callback cb) { return curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, cb); }
static inline CURLcode ccurl_setopt_prereq_callback(CURL *h, ccurl_prereq_callback cb) { return curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, cb); }
static inline CURLcode ccurl_setopt_opensocket_callback(CURL *h, ccurl_opensocket_callback cb) { return curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, cb); }

/// The IP address curl is about to open a socket for: its 4 or 16 bytes into `bytes` and its
/// text into `text`. Returns 4 or 6, or 0 for another family (nothing written).
int ccurl_sockaddr_ip(const struct curl_sockaddr *address, unsigned char bytes[16], char *text, size_t text_size);
/// The socket curl would have opened itself, for an open-socket callback that lets it through.
curl_socket_t ccurl_open_socket(const struct curl_sockaddr *address);

static inline CURLcode ccurl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }

typedef int (*ccurl_closesocket_callback)(void *userdata, curl_socket_t fd);
static inline CURLcode ccurl_setopt_closesocket_callback(CURL *h, ccurl_closesocket_callback cb) { return curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, cb); }
static inline CURLSHcode ccurl_share_setopt_long(CURLSH *s, CURLSHoption o, long v) { return curl_share_setopt(s, o, v); }

static inline CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/// The CURLMsg of a finished transfer, flattened (its `data` is a union Swift cannot read).
static inline int ccurl_msg_is_done(const CURLMsg *m) { return m->msg == CURLMSG_DONE; }
static inline CURLcode ccurl_msg_result(const CURLMsg *m) { return m->data.result; }

// MARK: TLS capture

enum {
    CCURL_TLS_HANDSHAKE_START = 1,
    CCURL_TLS_HANDSHAKE_DONE = 2,
};

/// Filled on curl's thread while a TLS connection is set up. Reset for each new connection, so
/// after redirects it describes the last connection. Times are Unix seconds.
typedef struct ccurl_tls_capture {
    void (*on_event)(void *owner, int event);
    void *owner;

    int handshake_started;
    int handshake_done;
    char version[24];      // "TLSv1.3" as OpenSSL names it
    char cipher[96];       // IANA name
    char alpn[24];

    int have_leaf;
    int64_t leaf_not_before;
    int64_t leaf_not_after;
    int64_t chain_not_after; // earliest notAfter over every certificate seen in the chain
    char subject[384];
    char issuer[384];
    char sans[1024];       // '\n'-separated DNS names and IP addresses

    int verify_error;      // first X509_V_ERR_* OpenSSL reported (0 = none)
    int verify_error_depth;

    // The first fatal alert the server sent (its description, e.g. 116 "certificate required").
    // Under TLS 1.3 a server rejects a client certificate after the client's side of the
    // handshake is done, so the alert is only seen on the first read.
    int peer_alert_received;
    int peer_alert;

    // Whether the handshake resumed an earlier session (SSL_session_reused). A resumed handshake
    // verifies no certificate: the leaf and chain facts are then the session's.
    int session_reused;

    // Set by the caller, kept across connections: an X509_STORE (from ccurl_ca_store) that
    // every TLS connection of the handle verifies against instead of loading CA files itself.
    void *ca_store;
} ccurl_tls_capture;

/// Installs CURLOPT_SSL_CTX_FUNCTION so every TLS connection of this handle fills `capture`.
/// The hooks only observe, except that a `ca_store` set in `capture` replaces the context's CA
/// store; the verify mode stays as curl configured it.
CURLcode ccurl_tls_capture_install(CURL *handle, ccurl_tls_capture *capture);

/// The certificates of the PEM bundle at `path` as an OpenSSL X509_STORE, parsed once and
/// shared by every connection until `max_age_seconds` have passed (then parsed again, so a
/// changed file is seen). libcurl's own cache holds one store per multi handle: targets with
/// different CA files made it parse the system bundle again at every probe.
/// Returns a new reference, to give back with `ccurl_ca_store_release`, or NULL when the file
/// cannot be loaded (curl then loads it itself and reports why).
void *ccurl_ca_store(const char *path, long max_age_seconds);
void ccurl_ca_store_release(void *store);

/// The CA bundle libcurl verifies against when none is set (NULL when it has none).
const char *ccurl_default_ca_bundle(void);

/// Why libcurl's URL parser refuses `url`, in its words ("Bad hostname"), or NULL when it
/// accepts it: the parser curl uses for CURLOPT_URL and for each redirect.
const char *ccurl_url_problem(const char *url);

/// Names the calling thread as the kernel shows it (`ps -L`, perf, gdb; at most 15 bytes).
void ccurl_name_this_thread(const char *name);

/// OpenSSL's words for an X509_V_ERR_* code ("certificate has expired").
const char *ccurl_verify_error_string(long code);

#endif
