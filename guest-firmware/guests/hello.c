/* hello: the smallest 64-bit guest. Prints a greeting and powers off (status 0). */
#include "rt.h"

int main(void);

int main(void)
{
	rt_puts("Hello from trapeze guest!\n");
	rt_poweroff();
}
