/*
 * paced_floor: bench/floor/curl_multi_floor.c's probe (the same easy-handle options, callbacks
 * and getinfo reads), but started at a fixed rate instead of flat out, as a scheduled agent
 * starts them: probe i starts at t0 + i/RATE; between starts the loop sleeps in
 * curl_multi_poll. The lowest cost libcurl allows for one probe at that rate.
 *
 * usage: paced_floor URL COUNT RATE [CAFILE]
 * Output (one line, as curl_multi_floor plus the rate achieved):
 *   probes=COUNT ok=N cpu_us_per_probe=X wall_s=Y rss_kb=Z rate=R
 */
#define main curl_multi_floor_main
#include "../floor/curl_multi_floor.c"
#undef main

#include <math.h>

static long run_paced(CURLM *multi, long count, double rate) {
    long started = 0, done = 0, ok = 0;
    int running = 0;
    double t0 = now_s();
    while (done < count) {
        double now = now_s();
        while (started < count && t0 + (double)started / rate <= now) {
            start_probe(multi);
            started++;
        }
        check(curl_multi_perform(multi, &running), "curl_multi_perform");
        reap(multi, &ok, &done);
        if (done >= count) break;
        int timeout_ms = 1000;
        if (started < count) {
            double wait = t0 + (double)started / rate - now_s();
            timeout_ms = wait <= 0 ? 0 : (int)ceil(wait * 1000.0);
            if (timeout_ms > 1000) timeout_ms = 1000;
        }
        if (timeout_ms > 0 || running) {
            check(curl_multi_poll(multi, NULL, 0, timeout_ms, NULL), "curl_multi_poll");
        }
    }
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s URL COUNT RATE [CAFILE]\n", argv[0]);
        return 2;
    }
    g_url = argv[1];
    long count = strtol(argv[2], NULL, 10);
    double rate = strtod(argv[3], NULL);
    if (count <= 0 || !(rate > 0)) {
        fprintf(stderr, "COUNT and RATE must be positive\n");
        return 2;
    }
    if (argc >= 5 && argv[4][0]) g_cafile = argv[4];
    g_rng ^= (uint64_t)time(NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 2;
    }
    CURLM *multi = curl_multi_init();
    run(multi, WARMUP, 1); /* warm-up: not counted */

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double w0 = now_s();
    long ok = run_paced(multi, count, rate);
    double w1 = now_s();
    getrusage(RUSAGE_SELF, &r1);

    double cpu_us = (tv_us(r1.ru_utime) - tv_us(r0.ru_utime)) +
                    (tv_us(r1.ru_stime) - tv_us(r0.ru_stime));
    printf("probes=%ld ok=%ld cpu_us_per_probe=%.1f wall_s=%.3f rss_kb=%ld rate=%.1f\n",
           count, ok, cpu_us / (double)count, w1 - w0, r1.ru_maxrss, (double)count / (w1 - w0));
    fflush(stdout);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return ok == count ? 0 : 1;
}
