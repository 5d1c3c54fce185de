/**
 * The device tree reader/writer against dtc (device-tree-compiler): byte-identical round trip,
 * /chosen rewritten as dtc reads it back, and hostile blobs ending in KimgError.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { ErrorCode, KimgError } from "../src/io/errors.js";
import { FDT_MAX_DEPTH, fdtTotalSize, findNode, getProperty, parseFdt, readCellValue, serializeFdt, updateChosen } from "../src/kexec/fdt.js";
import { needs } from "./helpers/tools.js";

const DTS = `/dts-v1/;
/memreserve/ 0x48000000 0x100000;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	compatible = "linux,dummy-virt";
	model = "kimg test";
	interrupt-parent = <&gic>;
	chosen {
		bootargs = "console=ttyAMA0 root=/dev/vda";
		linux,initrd-start = <0x0 0x48000000>;
		linux,initrd-end = <0x0 0x48100000>;
		linux,elfcorehdr = <0x0 0x50000000 0x0 0x1000>;
		linux,usable-memory-range = <0x0 0x50000000 0x0 0x10000000>;
		kaslr-seed = <0x0 0x0>;
		stdout-path = "/pl011@9000000";
	};
	memory@40000000 {
		device_type = "memory";
		reg = <0x0 0x40000000 0x0 0x80000000>;
	};
	gic: intc@8000000 {
		compatible = "arm,cortex-a15-gic";
		phandle = <0x8001>;
		linux,phandle = <0x8001>;
		interrupt-controller;
		#interrupt-cells = <3>;
		odd = [01 02 03 04 05];
	};
	pl011@9000000 {
		compatible = "arm,pl011", "arm,primecell";
		reg = <0x0 0x9000000 0x0 0x1000>;
	};
};
`;

function dtc(args: string[], input: string | Uint8Array): Buffer {
  return execFileSync("dtc", ["-q", ...args], { input });
}

function compile(source: string): Uint8Array {
  return new Uint8Array(dtc(["-I", "dts", "-O", "dtb"], source));
}

function decompile(blob: Uint8Array): string {
  return dtc(["-I", "dtb", "-O", "dts"], blob).toString("utf8");
}

function expectKimgError(fn: () => unknown, code: string): KimgError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof KimgError, `expected KimgError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe("fdt", { skip: needs("dtc") }, () => {
  const blob = compile(DTS);

  it("parses dtc output and writes it back byte for byte", () => {
    const fdt = parseFdt(blob);
    assert.deepEqual(fdt.reservations, [{ address: 0x48000000n, size: 0x100000n }]);
    assert.equal(findNode(fdt, "/memory@40000000")?.properties.length, 2);
    assert.deepEqual([...(getProperty(findNode(fdt, "/intc@8000000")!, "odd") ?? [])], [1, 2, 3, 4, 5]);
    assert.deepEqual(serializeFdt(fdt), blob);
  });

  it("reads a blob with slack after totalsize, as /sys/firmware/fdt has", () => {
    const padded = new Uint8Array(blob.length + 4096);
    padded.set(blob);
    assert.equal(fdtTotalSize(padded), blob.length);
    assert.deepEqual(serializeFdt(parseFdt(padded)), blob);
  });

  it("rewrites /chosen for the next kernel as dtc reads it back", () => {
    const fdt = parseFdt(blob);
    const changes = updateChosen(fdt, {
      bootargs: "console=ttyAMA0 panic=-1 kimg.marker=x",
      initrd: { start: 0x44410000, end: 0x44500d51 },
      kaslrSeed: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
      rngSeed: new Uint8Array(4).fill(0xab),
    });
    assert.deepEqual(changes, [
      { property: "bootargs", action: "set" },
      { property: "linux,initrd-start", action: "set" },
      { property: "linux,initrd-end", action: "set" },
      { property: "linux,elfcorehdr", action: "removed" },
      { property: "linux,usable-memory-range", action: "removed" },
      { property: "kaslr-seed", action: "set" },
      { property: "rng-seed", action: "set" },
    ]);
    const text = decompile(serializeFdt(fdt));
    const chosen = /chosen \{([^}]*)\}/.exec(text)?.[1] ?? "";
    assert.match(chosen, /bootargs = "console=ttyAMA0 panic=-1 kimg.marker=x";/);
    assert.match(chosen, /linux,initrd-start = <0x00 0x44410000>;/);
    assert.match(chosen, /linux,initrd-end = <0x00 0x44500d51>;/);
    assert.match(chosen, /kaslr-seed = <0x1020304 0x5060708>;/);
    assert.match(chosen, /rng-seed = <0xabababab>;/);
    assert.match(chosen, /stdout-path = "\/pl011@9000000";/);
    assert.doesNotMatch(chosen, /elfcorehdr|usable-memory-range/);
    // Everything outside /chosen is untouched.
    assert.equal(text.replace(/chosen \{[^}]*\}/, ""), decompile(blob).replace(/chosen \{[^}]*\}/, ""));
  });

  it("removes the initrd and bootargs when the next kernel gets none, and creates /chosen when absent", () => {
    const fdt = parseFdt(blob);
    updateChosen(fdt, { bootargs: null, initrd: null });
    const chosen = findNode(fdt, "/chosen");
    assert.ok(chosen);
    assert.equal(getProperty(chosen, "bootargs"), undefined);
    assert.equal(getProperty(chosen, "linux,initrd-start"), undefined);

    const bare = parseFdt(compile('/dts-v1/;\n/ { model = "bare"; };\n'));
    updateChosen(bare, { bootargs: "quiet", initrd: { start: 0x1000, end: 0x2000 } });
    const made = findNode(bare, "/chosen");
    assert.ok(made);
    assert.equal(readCellValue(getProperty(made, "linux,initrd-end")!), 0x2000n);
    assert.match(decompile(serializeFdt(bare)), /chosen \{\n\t\tbootargs = "quiet";/);
  });

  it("refuses hostile blobs with coded errors", () => {
    const mutate = (edit: (view: DataView, copy: Uint8Array) => void): Uint8Array => {
      const copy = blob.slice();
      edit(new DataView(copy.buffer), copy);
      return copy;
    };
    expectKimgError(() => parseFdt(blob.subarray(0, 20)), ErrorCode.TRUNCATED);
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(0, 0xdeadbeef))), ErrorCode.BAD_MAGIC);
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(4, blob.length + 1))), ErrorCode.BAD_OFFSET);
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(4, 3 * 1024 * 1024))), ErrorCode.LIMIT);
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(8, 0xfffffff0))), ErrorCode.BAD_OFFSET);
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(20, 15))), ErrorCode.UNSUPPORTED);
    const offStruct = new DataView(blob.buffer, blob.byteOffset).getUint32(8);
    const sizeStruct = new DataView(blob.buffer, blob.byteOffset).getUint32(36);
    // The first property of the root: token, len, nameoff.
    const rootProp = offStruct + 8;
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(rootProp + 8, 0x7fffffff))), ErrorCode.BAD_OFFSET);
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(rootProp + 4, 0x7fffffff))), ErrorCode.BAD_OFFSET);
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(rootProp, 0x77))), ErrorCode.BAD_FIELD);
    // FDT_END replaced by FDT_NOP: the block ends without FDT_END.
    expectKimgError(() => parseFdt(mutate((v) => v.setUint32(offStruct + sizeStruct - 4, 4))), ErrorCode.TRUNCATED);
    // A reservation map without its terminating entry.
    expectKimgError(() => parseFdt(mutate((_v, c) => c.fill(0xff, 40, offStruct))), ErrorCode.TRUNCATED);
  });

  it("caps nesting depth", () => {
    const depth = FDT_MAX_DEPTH + 1;
    const source = "/dts-v1/;\n/ {" + Array.from({ length: depth }, (_, i) => ` n${i} {`).join("") + " };".repeat(depth) + " };\n";
    expectKimgError(() => parseFdt(compile(source)), ErrorCode.LIMIT);
  });

  it("ends every mutated blob in a result or a KimgError, never another exception", () => {
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed;
    };
    for (let round = 0; round < 2000; round++) {
      const copy = blob.slice();
      const flips = 1 + (next() % 4);
      for (let i = 0; i < flips; i++) copy[next() % copy.length] = next() & 0xff;
      try {
        serializeFdt(parseFdt(copy));
      } catch (error) {
        assert.ok(error instanceof KimgError, `round ${round}: ${String(error)}`);
      }
    }
  });
});
