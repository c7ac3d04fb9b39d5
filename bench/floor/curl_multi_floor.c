/*
 * curl_multi_floor: bare libcurl multi-interface probe loop ("the floor").
 *
 * usage: curl_multi_floor URL COUNT CONCURRENCY [CAFILE [RESOLVE]]
 *
 * Performs COUNT GETs of URL with at most CONCURRENCY in flight, one fresh
 * easy handle per probe, configured with the same options phasewatch sets on
 * every probe. CPU (getrusage user+sys) is measured around the counted probe
 * loop only, after 20 uncounted warm-up probes.
 *
 * Output (one line):
 *   probes=COUNT ok=N cpu_us_per_probe=X wall_s=Y rss_kb=Z
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define WARMUP 20
#define BODY_LIMIT (1024 * 1024)

struct probe {
    CURL *easy;
    struct curl_slist *hdrs;
    size_t body_bytes;
    size_t header_bytes;
};

static const char *g_url;
static const char *g_cafile;
static struct curl_slist *g_resolve;
static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;

/* Sink so the compiler cannot drop the getinfo reads. */
static volatile long g_sink;

static uint64_t rng_next(void) {
    /* splitmix64 */
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
    (void)ptr;
    struct probe *p = ud;
    size_t n = size * nmemb;
    if (p->body_bytes < BODY_LIMIT) {
        size_t room = BODY_LIMIT - p->body_bytes;
        p->body_bytes += n < room ? n : room;
    }
    return n; /* discard data */
}

static size_t header_cb(char *ptr, size_t size, size_t nitems, void *ud) {
    (void)ptr;
    struct probe *p = ud;
    size_t n = size * nitems;
    p->header_bytes += n;
    return n;
}

static int xferinfo_cb(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln) {
    (void)ud; (void)dlt; (void)dln; (void)ult; (void)uln;
    return 0;
}

static CURLcode ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *ud) {
    (void)easy; (void)ssl_ctx; (void)ud;
    return CURLE_OK;
}

static struct probe *probe_new(void) {
    struct probe *p = calloc(1, sizeof(*p));
    if (!p) { perror("calloc"); exit(2); }
    p->easy = curl_easy_init();
    if (!p->easy) { fprintf(stderr, "curl_easy_init failed\n"); exit(2); }

    char tp[80];
    uint64_t a = rng_next(), b = rng_next(), c = rng_next();
    snprintf(tp, sizeof tp, "traceparent: 00-%016llx%016llx-%016llx-01",
             (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
    p->hdrs = curl_slist_append(NULL, tp);

    CURL *e = p->easy;
    curl_easy_setopt(e, CURLOPT_URL, g_url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, p);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (g_cafile) {
        curl_easy_setopt(e, CURLOPT_CAINFO, g_cafile);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    if (g_resolve)
        curl_easy_setopt(e, CURLOPT_RESOLVE, g_resolve);
    curl_easy_setopt(e, CURLOPT_CERTINFO, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, p);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->hdrs);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, p);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, p);
    return p;
}

/* Returns 1 if the transfer counts as ok (CURLE_OK and HTTP 200). */
static int probe_finish(struct probe *p, CURLcode res) {
    CURL *e = p->easy;
    long code = 0, httpver = 0, redirects = 0;
    curl_off_t t_dns = 0, t_conn = 0, t_app = 0, t_pre = 0, t_start = 0, t_total = 0;
    char *ip = NULL;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &httpver);
    curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &t_dns);
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &t_conn);
    curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &t_app);
    curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &t_pre);
    curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &t_start);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t_total);
    curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip);
    g_sink += code + httpver + redirects + (long)(t_dns + t_conn + t_app + t_pre + t_start + t_total)
              + (long)p->body_bytes + (long)p->header_bytes + (ip ? ip[0] : 0);
    static int reported;
    if ((res != CURLE_OK || code != 200) && reported++ < 5)
        fprintf(stderr, "curl_multi_floor: probe failed: %s (status %ld)\n",
                curl_easy_strerror(res), code);
    return res == CURLE_OK && code == 200;
}

/* Run `count` probes with at most `conc` in flight; returns number ok. */
/* Finishes every completed transfer: counts it in *done (and in *ok when it succeeded) and
 * frees it. Returns whether any finished. Shared with bench/vs_blackbox/paced_floor.c. */
static int reap(CURLM *multi, long *ok, long *done) {
    int finished_any = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *e = msg->easy_handle;
        CURLcode res = msg->data.result;
        struct probe *p = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&p);
        *ok += probe_finish(p, res);
        curl_multi_remove_handle(multi, e);
        curl_easy_cleanup(e);
        curl_slist_free_all(p->hdrs);
        free(p);
        (*done)++;
        finished_any = 1;
    }
    return finished_any;
}

/* Any multi-interface error ends the benchmark: its figures would be wrong. */
static void check(CURLMcode mc, const char *what) {
    if (mc != CURLM_OK) {
        fprintf(stderr, "%s: %s\n", what, curl_multi_strerror(mc));
        exit(2);
    }
}

static void start_probe(CURLM *multi) {
    struct probe *p = probe_new();
    check(curl_multi_add_handle(multi, p->easy), "curl_multi_add_handle");
}

static long run(CURLM *multi, long count, long conc) {
    long started = 0, done = 0, ok = 0;
    int running = 0;
    while (done < count) {
        while (started < count && started - done < conc) {
            start_probe(multi);
            started++;
        }
        check(curl_multi_perform(multi, &running), "curl_multi_perform");
        int finished_any = reap(multi, &ok, &done);
        if (finished_any)
            continue; /* refill slots before waiting */
        if (done < count) {
            check(curl_multi_poll(multi, NULL, 0, 1000, NULL), "curl_multi_poll");
        }
    }
    return ok;
}

static double tv_us(struct timeval tv) {
    return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s URL COUNT CONCURRENCY [CAFILE [RESOLVE]]\n", argv[0]);
        return 2;
    }
    g_url = argv[1];
    long count = strtol(argv[2], NULL, 10);
    long conc = strtol(argv[3], NULL, 10);
    if (count <= 0 || conc <= 0) {
        fprintf(stderr, "COUNT and CONCURRENCY must be positive\n");
        return 2;
    }
    if (argc >= 5 && argv[4][0]) g_cafile = argv[4];
    if (argc >= 6 && argv[5][0]) g_resolve = curl_slist_append(NULL, argv[5]);
    g_rng ^= (uint64_t)time(NULL);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 2;
    }
    CURLM *multi = curl_multi_init();

    /* warm-up: not counted */
    run(multi, WARMUP, conc);

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double w0 = now_s();
    long ok = run(multi, count, conc);
    double w1 = now_s();
    getrusage(RUSAGE_SELF, &r1);

    double cpu_us = (tv_us(r1.ru_utime) - tv_us(r0.ru_utime)) +
                    (tv_us(r1.ru_stime) - tv_us(r0.ru_stime));
    printf("probes=%ld ok=%ld cpu_us_per_probe=%.1f wall_s=%.3f rss_kb=%ld\n",
           count, ok, cpu_us / (double)count, w1 - w0, r1.ru_maxrss);
    fflush(stdout);

    curl_multi_cleanup(multi);
    curl_slist_free_all(g_resolve);
    curl_global_cleanup();
    return ok == count ? 0 : 1;
}
