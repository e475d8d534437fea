/*
 * print_isa.c - prints the kernels' instruction-set path (sn_cpu_isa) as
 * this process sees it: `make check` runs it with SN_CPU set to learn
 * which paths this CPU runs before testing each of them.
 */
#include <stdio.h>

#include "seqnet.h"

int main(void)
{
    puts(sn_cpu_isa());
    return 0;
}
