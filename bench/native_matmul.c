/* Fallback native baseline when numpy is missing: a cache-friendly i-k-j f32 loop, compiled with -O3 -march=native. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
  int runs = atoi(argv[1]);
  printf("{\"baseline\": \"C i-k-j loop -O3\", \"samples\": [");
  for (int s = 2; s < argc; s++) {
    int n = atoi(argv[s]);
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) { a[i] = (float)rand() / RAND_MAX - 0.5f; b[i] = (float)rand() / RAND_MAX - 0.5f; }
    double *times = malloc(sizeof(double) * (runs + 1));
    for (int r = 0; r <= runs; r++) {
      double t = now();
      for (int i = 0; i < n * n; i++) c[i] = 0;
      for (int i = 0; i < n; i++)
        for (int p = 0; p < n; p++) { float ap = a[i * n + p]; for (int j = 0; j < n; j++) c[i * n + j] += ap * b[p * n + j]; }
      times[r] = now() - t;
    }
    qsort(times + 1, runs, sizeof(double), cmp);
    double sec = times[1 + runs / 2];
    printf("%s{\"n\": %d, \"seconds\": %g, \"gflops\": %g, \"runs\": %d}", s > 2 ? ", " : "", n, sec, 2.0 * n * n * n / sec / 1e9, runs);
    free(a); free(b); free(c); free(times);
  }
  printf("]}\n");
  return 0;
}
