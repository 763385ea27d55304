/*
 * Cortex-M4F startup for snnc firmware (bare metal, newlib + rdimon semihosting).
 *
 * Reset: copy .data from flash, zero .bss, enable the FPU (the generated code and the
 * hard-float ABI use it; an FP instruction with the FPU off would fault), open the
 * semihosting handles, run main(), exit() with its status (QEMU ends the run there).
 * Symbols come from the linker script generated from the target profile (link.ld.j2).
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load__, __data_start__, __data_end__;
extern uint32_t __bss_start__, __bss_end__;
extern uint32_t __stack_top__;

extern int main(void);
extern void initialise_monitor_handles(void);

/* -nostartfiles drops crti/crtn; newlib's __libc_init_array/exit still reference these. */
void _init(void) {}
void _fini(void) {}

void Reset_Handler(void);
void Default_Handler(void);

void Reset_Handler(void)
{
    uint32_t *src = &__data_load__;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0u;
    }
    /* CPACR: full access to coprocessors 10 and 11 (the single-precision FPU). */
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= (0xFu << 20);
    __asm volatile("dsb\n\tisb" ::: "memory");
    initialise_monitor_handles();
    exit(main());
}

/* Any unexpected exception: stop here (visible in a debugger, ends a QEMU run by timeout). */
void Default_Handler(void)
{
    for (;;) {
    }
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

/* ARMv7-M core exception table (entries as addresses, so the initial stack pointer and the
 * handlers share one array without object/function pointer casts); device IRQs are
 * unused (no interrupts are enabled). */
__attribute__((section(".isr_vector"), used)) const uintptr_t snnc_vectors[16] = {
    (uintptr_t)&__stack_top__,
    (uintptr_t)Reset_Handler,
    (uintptr_t)NMI_Handler,
    (uintptr_t)HardFault_Handler,
    (uintptr_t)MemManage_Handler,
    (uintptr_t)BusFault_Handler,
    (uintptr_t)UsageFault_Handler,
    0u,
    0u,
    0u,
    0u,
    (uintptr_t)SVC_Handler,
    (uintptr_t)DebugMon_Handler,
    0u,
    (uintptr_t)PendSV_Handler,
    (uintptr_t)SysTick_Handler,
};
