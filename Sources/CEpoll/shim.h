// Linux's epoll (libc), which Swift's Glibc module leaves out: the load generator waits on
// its connections with it.
#include <sys/epoll.h>
