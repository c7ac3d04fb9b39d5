#define _GNU_SOURCE  // pthread_setname_np
#include "ccurl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int capture_index = -1;
static pthread_once_t capture_index_once = PTHREAD_ONCE_INIT;

static void make_capture_index(void) {
    capture_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static ccurl_tls_capture *capture_of_ssl(const SSL *ssl) {
    if (ssl == NULL || capture_index < 0) return NULL;
    return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), capture_index);
}

static void copy_string(char *dst, size_t cap, const char *src) {
    if (src == NULL) { dst[0] = 0; return; }
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static int64_t asn1_time_unix(const ASN1_TIME *t) {
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return (int64_t)timegm(&tm);
}

static void name_string(const X509_NAME *name, char *dst, size_t cap) {
    dst[0] = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        int n = BIO_read(bio, dst, (int)cap - 1);
        dst[n > 0 ? n : 0] = 0;
    }
    BIO_free(bio);
}

static void append_san(char *dst, size_t cap, const char *value, size_t len) {
    size_t used = strlen(dst);
    if (used + len + 2 > cap) return;
    if (used > 0) dst[used++] = '\n';
    memcpy(dst + used, value, len);
    dst[used + len] = 0;
}

static void sans_string(X509 *cert, char *dst, size_t cap) {
    dst[0] = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_DNS) {
            const unsigned char *s = ASN1_STRING_get0_data(gn->d.dNSName);
            append_san(dst, cap, (const char *)s, (size_t)ASN1_STRING_length(gn->d.dNSName));
        } else if (gn->type == GEN_IPADD) {
            char text[INET6_ADDRSTRLEN];
            int len = ASN1_STRING_length(gn->d.iPAddress);
            const unsigned char *raw = ASN1_STRING_get0_data(gn->d.iPAddress);
            int family = len == 4 ? AF_INET : (len == 16 ? AF_INET6 : 0);
            if (family != 0 && inet_ntop(family, raw, text, sizeof text) != NULL)
                append_san(dst, cap, text, strlen(text));
        }
    }
    GENERAL_NAMES_free(names);
}

static void record_expiry(ccurl_tls_capture *cap, X509 *cert) {
    int64_t not_after = asn1_time_unix(X509_get0_notAfter(cert));
    if (not_after != 0 && (cap->chain_not_after == 0 || not_after < cap->chain_not_after))
        cap->chain_not_after = not_after;
}

static void record_leaf(ccurl_tls_capture *cap, X509 *cert) {
    cap->have_leaf = 1;
    cap->leaf_not_after = asn1_time_unix(X509_get0_notAfter(cert));
    cap->leaf_not_before = asn1_time_unix(X509_get0_notBefore(cert));
    name_string(X509_get_subject_name(cert), cap->subject, sizeof cap->subject);
    name_string(X509_get_issuer_name(cert), cap->issuer, sizeof cap->issuer);
    sans_string(cert, cap->sans, sizeof cap->sans);
}

// Called by OpenSSL for every certificate of the chain it verifies (root first, leaf last) and
// for every error. We record and pass OpenSSL's verdict through unchanged: with curl's
// SSL_VERIFY_NONE (insecure mode) a failed check still does not stop the handshake.
static int verify_callback(int preverify_ok, X509_STORE_CTX *store) {
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    ccurl_tls_capture *cap = capture_of_ssl(ssl);
    if (cap == NULL) return preverify_ok;
    X509 *cert = X509_STORE_CTX_get_current_cert(store);
    int depth = X509_STORE_CTX_get_error_depth(store);
    if (cert != NULL) {
        record_expiry(cap, cert);
        if (depth == 0 && !cap->have_leaf) record_leaf(cap, cert);
    }
    if (!preverify_ok && cap->verify_error == 0) {
        cap->verify_error = X509_STORE_CTX_get_error(store);
        cap->verify_error_depth = depth;
    }
    return preverify_ok;
}

static void reset_capture(ccurl_tls_capture *cap) {
    void (*on_event)(void *, int) = cap->on_event;
    void *owner = cap->owner;
    void *ca_store = cap->ca_store;
    memset(cap, 0, sizeof *cap);
    cap->on_event = on_event;
    cap->owner = owner;
    cap->ca_store = ca_store;
}

static void info_callback(const SSL *ssl, int where, int ret) {
    ccurl_tls_capture *cap = capture_of_ssl(ssl);
    if (cap == NULL) return;
    // `ret` of an alert is (level << 8) | description; only the peer's fatal ones are kept.
    if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT && (ret >> 8) == SSL3_AL_FATAL && !cap->peer_alert_received) {
        cap->peer_alert_received = 1;
        cap->peer_alert = ret & 0xff;
    }
    if (where & SSL_CB_HANDSHAKE_START) {
        // Once started, a further start is a post-handshake message, not a new connection.
        if (cap->handshake_started) return;
        cap->handshake_started = 1;
        if (cap->on_event) cap->on_event(cap->owner, CCURL_TLS_HANDSHAKE_START);
    }
    if ((where & SSL_CB_HANDSHAKE_DONE) && !cap->handshake_done) {
        cap->handshake_done = 1;
        copy_string(cap->version, sizeof cap->version, SSL_get_version(ssl));
        const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
        copy_string(cap->cipher, sizeof cap->cipher, cipher ? SSL_CIPHER_standard_name(cipher) : NULL);
        const unsigned char *alpn = NULL;
        unsigned int alpn_len = 0;
        SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
        if (alpn != NULL && alpn_len < sizeof cap->alpn) {
            memcpy(cap->alpn, alpn, alpn_len);
            cap->alpn[alpn_len] = 0;
        }
        cap->session_reused = SSL_session_reused((SSL *)ssl);
        // A resumed handshake sends no certificate, so the verify callback saw none: the
        // session remembers the server's (its leaf and, on the client, the chain it sent).
        X509 *leaf = SSL_get0_peer_certificate(ssl);
        if (!cap->have_leaf && leaf != NULL) {
            record_leaf(cap, leaf);
            record_expiry(cap, leaf);
            STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
            for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) record_expiry(cap, sk_X509_value(chain, i));
        }
        if (cap->on_event) cap->on_event(cap->owner, CCURL_TLS_HANDSHAKE_DONE);
    }
}

// curl creates one SSL_CTX per connection and calls this after configuring it, so the verify
// mode read here is curl's own choice, and each connection (redirects too) starts a fresh capture.
static CURLcode ssl_ctx_callback(CURL *curl, void *ssl_ctx, void *userptr) {
    (void)curl;
    SSL_CTX *ctx = ssl_ctx;
    reset_capture(userptr);
    ccurl_tls_capture *cap = userptr;
    if (cap->ca_store != NULL) {
        // The context takes one reference; the transfer keeps its own until it ends.
        X509_STORE_up_ref(cap->ca_store);
        SSL_CTX_set_cert_store(ctx, cap->ca_store);
    }
    SSL_CTX_set_ex_data(ctx, capture_index, userptr);
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_callback);
    SSL_CTX_set_info_callback(ctx, info_callback);
    return CURLE_OK;
}

CURLcode ccurl_tls_capture_install(CURL *handle, ccurl_tls_capture *capture) {
    pthread_once(&capture_index_once, make_capture_index);
    if (capture_index < 0) return CURLE_OUT_OF_MEMORY;
    CURLcode rc = curl_easy_setopt(handle, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_callback);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(handle, CURLOPT_SSL_CTX_DATA, capture);
}

const char *ccurl_verify_error_string(long code) {
    return X509_verify_cert_error_string(code);
}

// MARK: CA stores

#define CA_CACHE_SIZE 32

static struct {
    char *path;
    X509_STORE *store;
    struct timespec loaded;
} ca_cache[CA_CACHE_SIZE];
static pthread_mutex_t ca_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static X509_STORE *load_ca_store(const char *path) {
    X509_STORE *store = X509_STORE_new();
    if (store == NULL) return NULL;
    if (X509_STORE_load_file(store, path) != 1) {
        X509_STORE_free(store);
        ERR_clear_error();
        return NULL;
    }
    // What libcurl sets on the store it loads itself (it allows partial chains by default).
    X509_STORE_set_flags(store, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
    return store;
}

void *ccurl_ca_store(const char *path, long max_age_seconds) {
    if (path == NULL) return NULL;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&ca_cache_lock);
    int slot = -1, oldest = 0;
    for (int i = 0; i < CA_CACHE_SIZE; i++) {
        if (ca_cache[i].path != NULL && strcmp(ca_cache[i].path, path) == 0) { slot = i; break; }
        if (ca_cache[i].path == NULL || ca_cache[i].loaded.tv_sec < ca_cache[oldest].loaded.tv_sec) oldest = i;
    }
    if (slot >= 0 && now.tv_sec - ca_cache[slot].loaded.tv_sec < max_age_seconds) {
        X509_STORE *store = ca_cache[slot].store;
        X509_STORE_up_ref(store);
        pthread_mutex_unlock(&ca_cache_lock);
        return store;
    }
    X509_STORE *store = load_ca_store(path);
    if (store == NULL) {
        pthread_mutex_unlock(&ca_cache_lock);
        return NULL;
    }
    if (slot < 0) {  // a new path: take a free slot, or the one loaded longest ago
        slot = oldest;
        free(ca_cache[slot].path);
        ca_cache[slot].path = strdup(path);
    }
    if (ca_cache[slot].store != NULL) X509_STORE_free(ca_cache[slot].store);
    ca_cache[slot].store = store;
    ca_cache[slot].loaded = now;
    X509_STORE_up_ref(store);
    pthread_mutex_unlock(&ca_cache_lock);
    return store;
}

void ccurl_ca_store_release(void *store) {
    X509_STORE_free(store);
}

static char *default_ca_bundle;
static pthread_once_t default_ca_bundle_once = PTHREAD_ONCE_INIT;

static void find_default_ca_bundle(void) {
    CURL *handle = curl_easy_init();
    if (handle == NULL) return;
    char *path = NULL;
    if (curl_easy_getinfo(handle, CURLINFO_CAINFO, &path) == CURLE_OK && path != NULL) default_ca_bundle = strdup(path);
    curl_easy_cleanup(handle);
}

const char *ccurl_default_ca_bundle(void) {
    pthread_once(&default_ca_bundle_once, find_default_ca_bundle);
    return default_ca_bundle;
}

int ccurl_sockaddr_ip(const struct curl_sockaddr *address, unsigned char bytes[16], char *text, size_t text_size) {
    const void *raw;
    int family, length;
    if (address->family == AF_INET && address->addrlen >= sizeof(struct sockaddr_in)) {
        raw = &((const struct sockaddr_in *)&address->addr)->sin_addr;
        family = 4, length = 4;
    } else if (address->family == AF_INET6 && address->addrlen >= sizeof(struct sockaddr_in6)) {
        raw = &((const struct sockaddr_in6 *)&address->addr)->sin6_addr;
        family = 6, length = 16;
    } else {
        return 0;
    }
    memcpy(bytes, raw, (size_t)length);
    if (inet_ntop(address->family, raw, text, (socklen_t)text_size) == NULL && text_size > 0) text[0] = 0;
    return family;
}

curl_socket_t ccurl_open_socket(const struct curl_sockaddr *address) {
    return socket(address->family, address->socktype, address->protocol);
}

const char *ccurl_url_problem(const char *url) {
    CURLU *parsed = curl_url();
    if (parsed == NULL) return curl_url_strerror(CURLUE_OUT_OF_MEMORY);
    CURLUcode rc = curl_url_set(parsed, CURLUPART_URL, url, 0);
    curl_url_cleanup(parsed);
    return rc == CURLUE_OK ? NULL : curl_url_strerror(rc);
}

void ccurl_name_this_thread(const char *name) {
    pthread_setname_np(pthread_self(), name);
}
