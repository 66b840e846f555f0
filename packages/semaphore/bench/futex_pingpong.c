// C baseline: two processes alternate on a shared futex word; prints the p50 round trip in us.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long futex(int *a, int op, int v) { return syscall(SYS_futex, a, op, v, NULL, NULL, 0); }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5000;
  int *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < n; i++) {
      int want = 2 * i + 1, cur;
      while ((cur = __atomic_load_n(w, __ATOMIC_SEQ_CST)) != want) futex(w, FUTEX_WAIT, cur);
      __atomic_store_n(w, want + 1, __ATOMIC_SEQ_CST);
      futex(w, FUTEX_WAKE, 1);
    }
    _exit(0);
  }
  double *t = malloc(sizeof(double) * n);
  for (int i = 0; i < n; i++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    __atomic_store_n(w, 2 * i + 1, __ATOMIC_SEQ_CST);
    futex(w, FUTEX_WAKE, 1);
    int cur;
    while ((cur = __atomic_load_n(w, __ATOMIC_SEQ_CST)) != 2 * i + 2) futex(w, FUTEX_WAIT, cur);
    clock_gettime(CLOCK_MONOTONIC, &b);
    t[i] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
  }
  waitpid(pid, NULL, 0);
  qsort(t, n, sizeof(double), cmp);
  printf("%.2f\n", t[n / 2]);
  return 0;
}
