/* The declarations boot_client.c uses, exactly as libkrun 1.18's own
 * include/libkrun.h has them. The build compiles boot_client.c with this file
 * forced in ahead of our header: any difference in a prototype's types or a
 * constant's value is a compile error, so the client provably builds
 * unchanged against both headers. */
#ifndef LIBKRUN_UPSTREAM_DECLS_H
#define LIBKRUN_UPSTREAM_DECLS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

#define KRUN_LOG_LEVEL_INFO 3
#define KRUN_KERNEL_FORMAT_ELF 1

int32_t krun_set_log_level(uint32_t level);
int32_t krun_create_ctx();
int32_t krun_set_vm_config(uint32_t ctx_id, uint8_t num_vcpus, uint32_t ram_mib);
int32_t krun_set_kernel(uint32_t ctx_id,
                        const char *kernel_path,
                        uint32_t kernel_format,
                        const char *initramfs,
                        const char *cmdline);
int32_t krun_set_nested_virt(uint32_t ctx_id, bool enabled);
int32_t krun_set_exec(uint32_t ctx_id,
                      const char *exec_path,
                      const char *const argv[],
                      const char *const envp[]);
int32_t krun_set_console_output(uint32_t ctx_id, const char *c_filepath);
int32_t krun_start_enter(uint32_t ctx_id);

#endif
