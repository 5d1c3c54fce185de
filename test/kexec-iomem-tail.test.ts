/**
 * The running kernel's last page on LoongArch: /proc/iomem of Debian's 7.2 loong64 kernel under
 * EDK2 in qemu-system-loongarch64 (trixie's QEMU 10.0, -m 2048) lists the bytes from the end of
 * "Kernel bss" to the next 16 KiB page as "Reserved". A plan that reuses the running kernel's place
 * (LoongArch, RISC-V) reuses that tail too; one that avoids the running kernel (arm64) keeps off it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freeSystemRam, parseIomem } from "../src/kexec/iomem.js";

const LOONGARCH_IOMEM = `00000000-0359ffff : System RAM
  00000000-001fffff : Reserved
  00200000-012fffff : Kernel code
  01300000-01b139ff : Kernel data
  01b13a00-01bfee6f : Kernel bss
  01bfee70-01bfffff : Reserved
  01c00000-01cc3fff : Reserved
035b0000-0d95ffff : System RAM
  035b0000-075affff : Reserved
`;

describe("the running kernel's page tail in /proc/iomem", () => {
  const resources = parseIomem(LOONGARCH_IOMEM);
  it("is free with the running kernel's place when that place is reused", () => {
    assert.deepEqual(freeSystemRam(resources, { avoidRunningKernel: false }), [
      { start: 0x200000, end: 0x1c00000 },
      { start: 0x1cc4000, end: 0x35a0000 },
      { start: 0x75b0000, end: 0xd960000 },
    ]);
  });
  it("stays reserved when the running kernel is avoided", () => {
    assert.deepEqual(freeSystemRam(resources), [
      { start: 0x1cc4000, end: 0x35a0000 },
      { start: 0x75b0000, end: 0xd960000 },
    ]);
  });
});
