/*
 * pause: the process that holds a pod sandbox's namespaces (the `registry.k8s.io/pause` image).
 * It blocks until told to stop and reaps the zombies of processes that end up parented to it
 * (it is PID 1 of the sandbox's PID namespace when the pod shares one). SIGINT and SIGTERM end it
 * with status 0, which is how containerd stops a sandbox. Written for Sprout after the behaviour
 * of Kubernetes' build/pause/linux/pause.c; built with `gcc -static -Os` by oci-images.sh.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "3.2-sprout"
#endif

static void down(int sig) {
  /* Only async-signal-safe calls here. */
  static const char msg[] = "pause: shutting down\n";
  (void)sig;
  (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(0);
}

static void reap(int sig) {
  int saved = errno;
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static void on(int sig, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) < 0) {
    perror("pause: sigaction");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("pause %s\n", PAUSE_VERSION);
    return 0;
  }
  if (getpid() != 1) fprintf(stderr, "pause: warning: not PID 1, will not reap zombies of other processes\n");
  on(SIGINT, down, 0);
  on(SIGTERM, down, 0);
  on(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART);
  for (;;) pause();
  return 42; /* not reached */
}
