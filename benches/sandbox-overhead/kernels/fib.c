// Naive recursive Fibonacci: call- and return-heavy.
#define N 28

__attribute__((noinline)) static int fib(int n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int akira_main(void) {
    return fib(N);
}
